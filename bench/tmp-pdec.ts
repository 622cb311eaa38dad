import { loadCodecs } from '../lib/codec/avro-codec.ts';
const codecs = loadCodecs();
const base = { requestId: 'req-1', experiment: 'spam-filter', requestedVariant: 'challenger', invokedVariant: 'challenger', output: Buffer.from('{"label":"spam","probability":0.93}'), outputContentType: 'application/json', predictedLabel: 'spam', latencyMs: 12.75, error: null, propensity: 0.5, snapshotVersion: 17, policy: 'thompson-sampling' as const, requestTime: 1_700_000_000_123, eventTime: 1_700_000_000_300, allocation: [{ variant: 'champion', probability: 0.5 }, { variant: 'challenger', probability: 0.5 }], shadowVariants: [], shadowOf: null, inferenceId: 'req-1', experimentRevision: 3 };
const vals = Array.from({ length: 1000 }, (_, i) => codecs.prediction.encode({ ...base, requestId: `req-${i}-0000000000-aaaaaaaaaaaa`, inferenceId: `req-${i}-0000000000-aaaaaaaaaaaa` }));
const label = Array.from({ length: 1000 }, (_, i) => codecs.label.encode({ requestId: `req-${i}-0000000000-aaaaaaaaaaaa`, reward: null, label: 'spam', eventTime: 1_700_000_000_300, source: 'json' } as never));
const post = codecs.posterior.encode((await import('../test/lib/codec/helpers.ts')).SAMPLES.posterior);
for (const [name, f] of [['prediction', (i: number) => codecs.prediction.decode(vals[i % 1000]!)], ['label', (i: number) => codecs.label.decode(label[i % 1000]!)], ['posterior.decode', () => codecs.posterior.decode(post)], ['posterior.encode', () => codecs.posterior.encode(codecs.posterior.decode(post))]] as const) {
  for (let r = 0; r < 3; r++) {
    let x = 0; const t = process.hrtime.bigint();
    for (let i = 0; i < 500_000; i++) x += f(i) ? 1 : 0;
    if (r === 2) console.log(name, (Number(process.hrtime.bigint() - t) / 5e5).toFixed(0), 'ns');
  }
}
