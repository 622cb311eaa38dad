import { loadCodecs } from '../lib/codec/avro-codec.ts';
const codecs = loadCodecs();
const base = { requestId: 'req-1', experiment: 'spam-filter', requestedVariant: 'challenger', invokedVariant: 'challenger', output: Buffer.from('{"label":"spam","probability":0.93}'), outputContentType: 'application/json', predictedLabel: 'spam', latencyMs: 12.75, error: null, propensity: 0.5, snapshotVersion: 17, policy: 'thompson-sampling' as const, requestTime: 1_700_000_000_123, eventTime: 1_700_000_000_300, allocation: [{ variant: 'champion', probability: 0.5 }, { variant: 'challenger', probability: 0.5 }], shadowVariants: [], shadowOf: null, inferenceId: 'req-1', experimentRevision: 3 };
const vals = Array.from({ length: 100000 }, (_, i) => ({ ...base, requestId: `req-${i}-0000000000-aaaaaaaaaaaa`, inferenceId: `req-${i}-0000000000-aaaaaaaaaaaa` }));
for (let r = 0; r < 4; r++) {
  let x = 0; const t = process.hrtime.bigint();
  for (let i = 0; i < 1_000_000; i++) x += codecs.prediction.encode(vals[i % 100000]!).length;
  console.log('prediction.encode', (Number(process.hrtime.bigint() - t) / 1e6).toFixed(0), 'ns');
}
