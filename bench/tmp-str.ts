const b = Buffer.from('req-1-0000000000-aaaaaaaaaaaa spam-filter text/plain');
function time(name: string, f: (i: number) => unknown) {
  for (let i = 0; i < 100_000; i++) f(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < 1e6; i++) f(i);
  console.log(name, (Number(process.hrtime.bigint() - t) / 1e6).toFixed(0), 'ns');
}
const u8 = (b as any).utf8Slice;
time('toString', (i) => b.toString('utf8', i & 3, 30));
time('utf8Slice', (i) => u8.call(b, i & 3, 30));
time('latin1', (i) => b.latin1Slice(i & 3, 30));
const td = new TextDecoder();
time('textdecoder', (i) => td.decode(b.subarray(i & 3, 30)));
time('readDoubleLE', (i) => b.readDoubleLE(i & 3));
