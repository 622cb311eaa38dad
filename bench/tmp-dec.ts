import { loadCodecs } from '../lib/codec/avro-codec.ts';
const codecs = loadCodecs();
const payload = Buffer.from('x'.repeat(200) + ' héllo wörld mail text here yes');
const reqs: Buffer[] = [];
for (let i = 0; i < 1000; i++) reqs.push(codecs.request.encode({ requestId: `req-${i}-0000000000-aaaaaaaaaaaa`, experiment: 'spam-filter', payload, contentType: 'text/plain', userId: null, targetVariant: null, eventTime: Date.now() }));
let x = 0;
const t = process.hrtime.bigint();
for (let i = 0; i < 2_000_000; i++) x += codecs.request.decode(reqs[i % 1000]!).requestId.length;
console.log(Number(process.hrtime.bigint() - t) / 2e6, x);
