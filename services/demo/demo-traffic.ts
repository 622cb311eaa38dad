// Demo traffic for `npm start`: held-out mails of the SpamAssassin corpus sent as inference
// requests at a steady rate, and each user's "spam / not spam" feedback sent as a label after
// a random delay once the prediction is out. It also watches predictions and posteriors to
// report progress, and knows when every label it sent has been folded into the posterior.
import { randomUUID } from 'node:crypto';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import type {
  DecisionMade,
  ExperimentStatistics,
  LabelReceived,
  PosteriorPublished,
  PredictionMade,
} from '../../lib/contracts/events.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import type { RandomSource } from '../../lib/bandit/random.ts';
import type {
  EventLog,
  LogConsumer,
  LogProducer,
  OutRecord,
} from '../../lib/event-log/event-log.ts';
import { startTableReader, type TableReader } from '../../lib/stream/table-reader.ts';
import { PredictionLag, type LagReport } from './core/prediction-lag.ts';

export interface DemoMail {
  readonly text: string;
  readonly label: 'spam' | 'ham';
}

/** One user's verdict on a mail, `eventTime` when they gave it. */
export interface Feedback {
  readonly requestId: string;
  readonly verdict: 'spam' | 'ham';
  readonly eventTime: number;
}

/**
 * Sends users' feedback somewhere other than the labels topic (e.g. as application logs that
 * label ingestion maps to labels). Resolves once it is written.
 */
export type FeedbackSink = (feedback: readonly Feedback[]) => Promise<void>;

/** The application-log record the demo writes for one verdict (examples/demo-label-mapping.json). */
export function feedbackLogLine(feedback: Feedback): string {
  return JSON.stringify({
    event: 'feedback',
    requestId: feedback.requestId,
    verdict: feedback.verdict,
    at: feedback.eventTime,
  });
}

export interface DemoOptions {
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly experiment: string;
  readonly mails: readonly DemoMail[];
  /** Total requests to send; Infinity runs until stopped. */
  readonly requests: number;
  readonly ratePerSecond: number;
  /** Feedback delay range in ms, uniform. */
  readonly labelDelayMs: readonly [number, number];
  readonly random: RandomSource;
  readonly now: () => number;
  /** Where feedback goes; default: labels on the labels topic. */
  readonly feedback?: FeedbackSink;
}

export interface VariantProgress {
  predictions: number;
  errors: number;
}

export interface DemoProgress {
  sent: number;
  predictions: number;
  labelsSent: number;
  /** Labels sent for predictions that can be scored (no model error). */
  scorableLabelsSent: number;
  readonly byVariant: Map<string, VariantProgress>;
}

export interface RunningDemo {
  readonly progress: Readonly<DemoProgress>;
  /** Latest partial posteriors of the demo experiment. */
  partials(): PosteriorPublished[];
  /** Latest statistics of the demo experiment published by the decider, if any. */
  statistics(): ExperimentStatistics | undefined;
  /** Latest decision about the demo experiment (stopping rule, canary), if any. */
  decision(): DecisionMade | undefined;
  /** How far predictions are behind the demo's requests, now. */
  lag(): LagReport;
  /** True once every request was sent, predicted, labelled and folded into the posterior. */
  finished(): boolean;
  stop(): Promise<void>;
}

/** The live view's latency quantiles cover the predictions of the last five seconds. */
const LAG_WINDOW_MS = 5_000;

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const { codecs, topics } = options;
  const progress: DemoProgress = {
    sent: 0,
    predictions: 0,
    labelsSent: 0,
    scorableLabelsSent: 0,
    byVariant: new Map(),
  };
  const truth = new Map<string, 'spam' | 'ham'>();
  const lag = new PredictionLag(LAG_WINDOW_MS);
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let failure: Error | null = null;

  const producer: LogProducer = await options.eventLog.createProducer();
  const posteriors: TableReader<PosteriorPublished> = await startTableReader({
    eventLog: options.eventLog,
    topic: topics.posteriors,
    decode: (r) => codecs.posterior.decode(r.value ?? new Uint8Array()),
    groupPrefix: 'dynab-demo-posteriors',
  });
  const statistics: TableReader<ExperimentStatistics> = await startTableReader({
    eventLog: options.eventLog,
    topic: topics.experimentStats,
    decode: (r) => codecs['experiment-stats'].decode(r.value ?? new Uint8Array()),
    groupPrefix: 'dynab-demo-statistics',
  });
  const decisions: TableReader<DecisionMade> = await startTableReader({
    eventLog: options.eventLog,
    topic: topics.decisions,
    decode: (r) => codecs.decision.decode(r.value ?? new Uint8Array()),
    groupPrefix: 'dynab-demo-decisions',
  });
  const predictions: LogConsumer = await options.eventLog.createConsumer({
    groupId: `dynab-demo-${randomUUID()}`,
    topics: [topics.predictions],
    fromBeginning: true,
  });

  // Labels that came due wait here and leave together on the next tick: one send per tick, not
  // one per label, so feedback never queues up in front of the requests on the shared producer.
  let dueLabels: { prediction: PredictionMade; label: 'spam' | 'ham' }[] = [];
  const sendDueLabels = (): void => {
    if (dueLabels.length === 0) return;
    const batch = dueLabels;
    dueLabels = [];
    const sent: Promise<void> =
      options.feedback === undefined
        ? producer.send(
            batch.map(({ prediction, label }): OutRecord => {
              const feedback: LabelReceived = {
                requestId: prediction.requestId,
                reward: null,
                label,
                eventTime: options.now(),
                source: 'demo-user-feedback',
              };
              return {
                topic: topics.labels,
                key: prediction.requestId,
                value: codecs.label.encode(feedback),
              };
            }),
          )
        : options.feedback(
            batch.map(({ prediction, label }) => ({
              requestId: prediction.requestId,
              verdict: label,
              eventTime: options.now(),
            })),
          );
    sent
      .then(() => {
        progress.labelsSent += batch.length;
        progress.scorableLabelsSent += batch.filter((b) => b.prediction.error === null).length;
      })
      .catch((error: unknown) => {
        failure = error instanceof Error ? error : new Error(String(error));
      });
  };

  await predictions.run((batch) => {
    for (const record of batch.records) {
      if (record.value === null) continue;
      const prediction = codecs.prediction.decode(record.value);
      const label = truth.get(prediction.requestId);
      if (label === undefined) continue; // not one of ours, or seen already
      truth.delete(prediction.requestId);
      lag.predicted(prediction.requestId, options.now());
      progress.predictions++;
      const variant = prediction.invokedVariant ?? prediction.requestedVariant;
      const stats = progress.byVariant.get(variant) ?? { predictions: 0, errors: 0 };
      stats.predictions++;
      if (prediction.error !== null) stats.errors++;
      progress.byVariant.set(variant, stats);
      const [low, high] = options.labelDelayMs;
      const delay = low + (high - low) * options.random();
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopped) dueLabels.push({ prediction, label });
      }, delay);
      timers.add(timer);
    }
  });

  // Requests go out in small bursts every tick, which holds the configured average rate.
  const tickMs = 50;
  let carry = 0;
  let mailIndex = 0;
  const pump = setInterval(() => {
    if (!stopped) sendDueLabels();
    if (stopped || progress.sent >= options.requests) return;
    carry += (options.ratePerSecond * tickMs) / 1000;
    const count = Math.min(Math.floor(carry), options.requests - progress.sent);
    carry -= count;
    if (count <= 0) return;
    const records: OutRecord[] = [];
    for (let i = 0; i < count; i++) {
      const mail = options.mails[mailIndex++ % options.mails.length];
      if (mail === undefined) break;
      const requestId = randomUUID();
      truth.set(requestId, mail.label);
      lag.sent(requestId, options.now());
      records.push({
        topic: topics.requests,
        key: requestId,
        value: codecs.request.encode({
          requestId,
          experiment: options.experiment,
          payload: Buffer.from(mail.text),
          contentType: 'text/plain',
          userId: null,
          targetVariant: null,
          eventTime: options.now(),
        }),
      });
    }
    progress.sent += records.length;
    producer.send(records).catch((error: unknown) => {
      failure = error instanceof Error ? error : new Error(String(error));
    });
  }, tickMs);

  const partials = (): PosteriorPublished[] =>
    [...posteriors.values()].filter((p) => p.experiment === options.experiment);

  return {
    progress,
    partials,
    statistics: () => statistics.get(options.experiment),
    decision: () => decisions.get(options.experiment),
    lag: () => lag.report(options.now()),
    finished() {
      if (failure !== null) throw failure;
      if (progress.sent < options.requests || progress.predictions < options.requests) return false;
      if (progress.labelsSent < progress.predictions) return false;
      const folded = partials().reduce(
        (sum, p) => sum + p.variants.reduce((s, v) => s + v.count, 0),
        0,
      );
      return folded >= progress.scorableLabelsSent;
    },
    async stop() {
      stopped = true;
      clearInterval(pump);
      for (const timer of timers) clearTimeout(timer);
      await predictions.stop();
      await posteriors.stop();
      await statistics.stop();
      await decisions.stop();
      await producer.close();
    },
  };
}
