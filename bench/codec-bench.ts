// `npm run bench -- codec`: CPU per message of the codec's hot operations, the codec's own body
// reader and writer beside avsc alone (`loadCodecs({ avscOnly: true })`, the reference they are
// tested against: same bytes, same values). The two are interleaved per round; the median of
// the rounds is reported. Messages as the pipeline carries them: requests and assignments with a
// 256-byte text and with the served spam mails, predictions, labels and posteriors.
import { performance } from 'node:perf_hooks';
import { loadCodecs, type Codecs } from '../lib/codec/avro-codec.ts';
import type { InferenceRequested, VariantAssigned } from '../lib/contracts/events.ts';
import { loadSpamCorpus, splitCorpus } from '../services/local-endpoint/spam-corpus.ts';
import { median } from './spam-model-bench.ts';

export interface CodecBenchRow {
  readonly operation: string;
  /** Median over the rounds, µs per message. */
  readonly avscMicros: number;
  readonly oursMicros: number;
}

export interface CodecBenchResult {
  readonly rounds: number;
  readonly messages: number;
  readonly rows: readonly CodecBenchRow[];
}

/** One operation over a set of messages, for one codec set; answers something to keep. */
type Operation = (codecs: Codecs, index: number) => number;

const MESSAGES = 2_000;

export function runCodecBench(rounds = 7, passes = 20): CodecBenchResult {
  const avsc = loadCodecs({ avscOnly: true });
  const ours = loadCodecs();
  const mails = splitCorpus(loadSpamCorpus()).serve.map((mail) => Buffer.from(mail.text));
  const text = Buffer.from('x'.repeat(256));
  const requestOf = (i: number, payload: Uint8Array): InferenceRequested => ({
    requestId: `bench-${i}-${(i * 2_654_435_761) % 1_000_000_007}`,
    experiment: 'spam-filter',
    payload,
    contentType: 'text/plain',
    userId: null,
    targetVariant: null,
    eventTime: 1_796_000_000_000 + i,
  });
  const assignmentOf = (request: InferenceRequested, i: number): VariantAssigned => ({
    request,
    variant: i % 2 === 0 ? 'champion' : 'challenger',
    policy: 'thompson-sampling',
    snapshotVersion: 1_000 + (i % 7),
    propensity: i % 2 === 0 ? 0.62 : 0.38,
    reason: 'posterior',
    decisionTime: 1_796_000_000_050 + i,
    allocation: [
      { variant: 'champion', probability: 0.62 },
      { variant: 'challenger', probability: 0.38 },
    ],
    shadowVariants: [],
    experimentRevision: 3,
  });
  const indices = Array.from({ length: MESSAGES }, (_, i) => i);
  const smallRequests = indices.map((i) => requestOf(i, text));
  const mailRequests = indices.map((i) => requestOf(i, mails[i % mails.length] ?? text));
  const encoded = (values: readonly unknown[], encode: (v: never) => Buffer): Buffer[] =>
    values.map((value) => encode(value as never));
  const smallRequestBytes = encoded(smallRequests, (v) => ours.request.encode(v));
  const mailRequestBytes = encoded(mailRequests, (v) => ours.request.encode(v));
  const smallAssignments = smallRequests.map(assignmentOf);
  const mailAssignments = mailRequests.map(assignmentOf);
  const mailAssignmentBytes = encoded(mailAssignments, (v) => ours.assignment.encode(v));
  const predictions = indices.map((i) => ({
    requestId: smallRequests[i]?.requestId ?? '',
    experiment: 'spam-filter',
    requestedVariant: 'challenger',
    invokedVariant: 'challenger',
    output: Buffer.from('{"label":"spam","probability":0.93}'),
    outputContentType: 'application/json',
    predictedLabel: 'spam',
    latencyMs: 12.75,
    error: null,
    propensity: 0.38,
    snapshotVersion: 1_003,
    policy: 'thompson-sampling' as const,
    requestTime: 1_796_000_000_000 + i,
    eventTime: 1_796_000_000_080 + i,
    allocation: [
      { variant: 'champion', probability: 0.62 },
      { variant: 'challenger', probability: 0.38 },
    ],
    shadowVariants: [],
    shadowOf: null,
    inferenceId: smallRequests[i]?.requestId ?? '',
    experimentRevision: 3,
  }));
  const predictionBytes = encoded(predictions, (v) => ours.prediction.encode(v));
  const labelBytes = encoded(
    indices.map((i) => ({
      requestId: smallRequests[i]?.requestId ?? '',
      reward: null,
      label: i % 3 === 0 ? 'spam' : 'ham',
      eventTime: 1_796_000_100_000 + i,
      source: 'json',
    })),
    (v) => ours.label.encode(v),
  );
  const at = <T>(values: readonly T[], i: number): T => values[i] as T;

  const operations: readonly (readonly [string, Operation])[] = [
    ['request decode, 256 B', (c, i) => c.request.decode(at(smallRequestBytes, i)).eventTime],
    [
      'request decode sharing the payload, 256 B (router)',
      (c, i) => c.request.decodeSharing(at(smallRequestBytes, i)).eventTime,
    ],
    ['assignment encode, 256 B', (c, i) => c.assignment.encode(at(smallAssignments, i)).length],
    [
      'assignment encode around the request as it came, 256 B (router)',
      (c, i) =>
        c.assignment.encodeEmbedding(at(smallAssignments, i), at(smallRequestBytes, i)).length,
    ],
    [
      'request decode sharing the payload, mails (router)',
      (c, i) => c.request.decodeSharing(at(mailRequestBytes, i)).eventTime,
    ],
    [
      'assignment encode around the request as it came, mails (router)',
      (c, i) =>
        c.assignment.encodeEmbedding(at(mailAssignments, i), at(mailRequestBytes, i)).length,
    ],
    [
      'assignment decode sharing the payload, mails (inference)',
      (c, i) => c.assignment.decodeSharing(at(mailAssignmentBytes, i)).decisionTime,
    ],
    ['prediction encode (inference)', (c, i) => c.prediction.encode(at(predictions, i)).length],
    [
      'prediction decode (aggregator)',
      (c, i) => c.prediction.decode(at(predictionBytes, i)).eventTime,
    ],
    ['label decode (aggregator)', (c, i) => c.label.decode(at(labelBytes, i)).eventTime],
  ];

  const rows = operations.map(([operation, run]): CodecBenchRow => {
    const samples: Record<'avsc' | 'ours', number[]> = { avsc: [], ours: [] };
    let sink = 0;
    for (let round = 0; round < rounds; round++) {
      for (const [name, codecs] of [
        ['avsc', avsc],
        ['ours', ours],
      ] as const) {
        const started = performance.now();
        for (let pass = 0; pass < passes; pass++)
          for (let i = 0; i < MESSAGES; i++) sink += run(codecs, i);
        samples[name].push(((performance.now() - started) * 1000) / (passes * MESSAGES));
      }
    }
    if (Number.isNaN(sink)) throw new Error(`${operation}: NaN`);
    return { operation, avscMicros: median(samples.avsc), oursMicros: median(samples.ours) };
  });
  return { rounds, messages: MESSAGES, rows };
}
