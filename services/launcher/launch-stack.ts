// `npm start`: the whole pipeline on one machine. Starts (unless given) a Kafka broker and the
// local SageMaker endpoint, creates the topics, defines the demo experiment (with a stopping
// rule), runs router, inference, aggregator and decider as four processes, then plays demo
// traffic and shows live progress per variant, P(best), the stopping rule and its decision.
// Stops on Ctrl-C or after --requests N and prints a final summary. The services are supervised
// (supervisor.ts): one that dies is restarted, and the launcher exits non-zero only when one
// keeps dying. The logs folder it names is kept; the broker's data and the state are removed.
// With --labels-via app-logs or kinesis, the users' feedback is written as application logs (to a
// Kafka topic, or to a Kinesis stream on a local emulator) and a fifth process, label ingestion,
// maps them to labels. When it ends it writes the experiment's HTML report (`dynab report`) next to
// the logs, with the demo models' true accuracies for the regret, and prints its path.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedKafka, type EmbeddedKafka } from '../../infra/kafka/embedded-kafka.ts';
import { createSeededRandom } from '../../lib/bandit/random.ts';
import { loadCodecs } from '../../lib/codec/avro-codec.ts';
import { loadConfig } from '../../lib/config/config.ts';
import {
  CHAMPION_CHALLENGER,
  defineExperiment,
  EXPERIMENT_DEFAULTS,
} from '../../lib/contracts/experiment-defaults.ts';
import { topicNames, topicSpecs } from '../../lib/contracts/topics.ts';
import { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';
import { writeReport } from '../cli/report-command.ts';
import { loadSpamCorpus, splitCorpus } from '../local-endpoint/spam-corpus.ts';
import {
  buildVariantRows,
  formatDecisionLines,
  formatVariantTable,
} from '../demo/core/progress-report.ts';
import {
  feedbackLogLine,
  startDemo,
  type FeedbackSink,
  type RunningDemo,
} from '../demo/demo-traffic.ts';
import { createKinesisClient } from '../label-ingestion/kinesis/kinesis-shard-reader.ts';
import {
  ensureStream,
  putRecords,
  startLocalKinesis,
  type LocalKinesis,
} from '../label-ingestion/kinesis/kinesis-local.ts';
import { formatLag } from '../demo/core/prediction-lag.ts';
import { storeServiceEnv, startLocalEndpoint, stopChild, type Child } from './service-processes.ts';
import { demoTrueRates } from './demo-true-rates.ts';
import { createSupervisor, type Supervisor } from './supervisor.ts';
import { parseStartArgs, START_USAGE, type StartOptions } from './start-options.ts';

/** The mapping of the demo's application logs, used unless DYNAB_LABEL_MAPPING_FILE is set. */
const DEMO_LABEL_MAPPING = fileURLToPath(
  new URL('../../examples/demo-label-mapping.json', import.meta.url),
);

function say(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** Fisher–Yates shuffle into a new array. */
function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export async function launchStack(argv: readonly string[]): Promise<number> {
  let options: StartOptions;
  try {
    options = parseStartArgs(argv);
  } catch (error) {
    process.stderr.write(
      `${error instanceof Error ? error.message : String(error)}\n${START_USAGE}\n`,
    );
    return 2;
  }
  if (options.help) {
    say(START_USAGE);
    return 0;
  }
  const config = loadConfig();
  const runDir = await mkdtemp(join(tmpdir(), 'dynab-run-'));
  const logDir = join(runDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const children: Child[] = [];
  let kafka: EmbeddedKafka | null = null;
  let eventLog: KafkaEventLog | null = null;
  let demo: RunningDemo | null = null;
  let localKinesis: LocalKinesis | null = null;
  const closers: (() => Promise<void>)[] = [];
  // Set from signal and child-exit callbacks; `as boolean` keeps TypeScript from narrowing it
  // to `false` in the code below, which cannot see those assignments.
  let interrupted = false as boolean;
  let supervisor: Supervisor | null = null;
  const onSignal = (): void => {
    interrupted = true;
    supervisor?.halt();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let stopping = false;
  let endpointLost = false;
  /** Lines of the live view on screen, rewritten in place on a terminal. */
  let lastLines = 0;
  /** Removes what a run leaves behind except the logs it named. */
  const removeRunData = async (): Promise<void> => {
    for (const dir of ['kafka', 'state'])
      await rm(join(runDir, dir), { recursive: true, force: true }).catch(() => undefined);
  };
  /** Writes the report while the topics are still there; a failure only costs the report. */
  const report = async (trueRates: () => ReadonlyMap<string, number> | null): Promise<void> => {
    if (eventLog === null) return;
    try {
      const path = await writeReport({
        eventLog,
        topicPrefix: config.topicPrefix,
        experiment: options.experiment,
        out: join(runDir, 'report.html'),
        trueRates: trueRates(),
        now: Date.now(),
      });
      say(`report: ${path}`);
    } catch (error) {
      process.stderr.write(
        `report not written: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    }
  };
  const cleanup = async (): Promise<void> => {
    stopping = true;
    await demo?.stop().catch(() => undefined);
    await supervisor?.stop();
    await Promise.all(children.map(stopChild));
    for (const close of closers) await close().catch(() => undefined);
    await localKinesis?.stop().catch(() => undefined);
    await eventLog?.close().catch(() => undefined);
    await kafka?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };

  try {
    let brokers = options.brokers ?? config.brokers;
    if (brokers.length === 0) {
      kafka = await startEmbeddedKafka({
        dataDir: join(runDir, 'kafka'),
        removeDataOnStop: false,
        onProgress: (m) => say(`kafka: ${m}`),
      });
      brokers = kafka.brokers;
    }
    const topics = topicNames(config.topicPrefix);
    eventLog = new KafkaEventLog({ brokers, clientId: 'dynab-launcher' });
    await eventLog.waitUntilReady(60_000);
    await eventLog.ensureTopics(topicSpecs(topics, config.partitions));
    say(
      `topics ready on ${brokers.join(',')} (prefix "${config.topicPrefix}", ${config.partitions} partitions)`,
    );

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DYNAB_BROKERS: brokers.join(','),
      // A run against the embedded broker starts from empty topics, so its state starts empty too.
      DYNAB_STATE_DIR: kafka === null ? config.stateDir : join(runDir, 'state'),
    };
    let endpointUrl = config.sagemakerEndpointUrl;
    if (endpointUrl === undefined) {
      say('local SageMaker endpoint: training the spam models …');
      const local = await startLocalEndpoint(env, logDir, options.experiment);
      children.push(local.child);
      endpointUrl = local.url;
      say(`local SageMaker endpoint "${options.experiment}" at ${endpointUrl}`);
      // The local endpoint reads JSON lines batches, so inference batches its calls unless the
      // user chose otherwise (a real endpoint's container is only batched when configured).
      if ((env['DYNAB_INFERENCE_BATCH_FORMATS'] ?? '') === '') {
        env['DYNAB_INFERENCE_BATCH_FORMATS'] = `${options.experiment}=jsonlines`;
      }
    }
    env['DYNAB_SAGEMAKER_ENDPOINT_URL'] = endpointUrl;

    const codecs = loadCodecs();
    const producer = await eventLog.createProducer();
    // The demo experiment decides by itself: goal decide with two models splits traffic evenly
    // (top-two Thompson sampling with β = 1/2), and once the exact balanced-pair test names the
    // better model at error rate δ = 0.05 (however often the decider checks) with at least 100
    // rewards each, the decider promotes it to all traffic. A 5-point gain is worth finding.
    const experiment = defineExperiment({
      experiment: options.experiment,
      variants: CHAMPION_CHALLENGER,
      stopping: {
        ...EXPERIMENT_DEFAULTS.stopping,
        rule: 'glr',
        goal: 'decide',
        threshold: 0.95,
        minRewards: 100,
        autoPromote: true,
        minimumDetectableEffect: 0.05,
      },
      updatedAt: Date.now(),
    });
    await producer.send([
      {
        topic: topics.experiments,
        key: experiment.experiment,
        value: codecs.experiment.encode(experiment),
      },
    ]);
    await producer.close();

    // Feedback as application logs (--labels-via): label ingestion maps them to labels.
    let feedback: FeedbackSink | undefined;
    const services: [string, string][] = [
      ['aggregator', 'services/aggregator/main.ts'],
      ['inference', 'services/inference/main.ts'],
      ['router', 'services/router/main.ts'],
      ['decider', 'services/decider/main.ts'],
    ];
    if (options.labelsVia !== 'labels') {
      if ((env['DYNAB_LABEL_MAPPING_FILE'] ?? '') === '') {
        env['DYNAB_LABEL_MAPPING_FILE'] = DEMO_LABEL_MAPPING;
      }
      if (options.labelsVia === 'kinesis') {
        let endpoint = config.kinesisEndpointUrl;
        if (endpoint === undefined) {
          localKinesis = await startLocalKinesis();
          endpoint = localKinesis.endpoint;
          say(`local Kinesis emulator at ${endpoint}`);
        }
        const stream = config.kinesisStream ?? `${config.topicPrefix}app-logs`;
        const client = createKinesisClient({
          region: config.kinesisRegion,
          endpoint,
          // As label ingestion does: an emulator takes any credentials.
          ...((env['AWS_ACCESS_KEY_ID'] ?? '') === ''
            ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
            : {}),
        });
        closers.push(() => {
          client.destroy();
          return Promise.resolve();
        });
        await ensureStream(client, stream, config.partitions);
        env['DYNAB_LABEL_SOURCE'] = 'kinesis';
        env['DYNAB_KINESIS_STREAM'] = stream;
        env['DYNAB_KINESIS_ENDPOINT_URL'] = endpoint;
        if ((env['DYNAB_KINESIS_POLL_INTERVAL_MS'] ?? '') === '') {
          env['DYNAB_KINESIS_POLL_INTERVAL_MS'] = '100';
        }
        feedback = (items) =>
          putRecords(
            client,
            stream,
            items.map((item) => ({ data: feedbackLogLine(item), partitionKey: item.requestId })),
          );
        say(`demo feedback goes to the Kinesis stream "${stream}" as application logs`);
      } else {
        env['DYNAB_LABEL_SOURCE'] = 'kafka';
        const appLogTopic = config.appLogTopic ?? topics.appLogs;
        const appLogs = await eventLog.createProducer();
        closers.push(() => appLogs.close());
        feedback = (items) =>
          appLogs.send(
            items.map((item) => ({
              topic: appLogTopic,
              key: item.requestId,
              value: Buffer.from(feedbackLogLine(item)),
            })),
          );
        say(`demo feedback goes to the Kafka topic "${appLogTopic}" as application logs`);
      }
      services.push(['label-ingestion', 'services/label-ingestion/main.ts']);
    }

    supervisor = createSupervisor(
      services.map(([name, script]) => ({
        name,
        script,
        env: name === 'aggregator' ? storeServiceEnv(env) : env,
      })),
      {
        logDir,
        readyTimeoutMs: 120_000,
        onEvent: (message) => {
          say(message);
          // The live view starts again below the event, which stays on screen.
          lastLines = 0;
        },
      },
    );
    for (const service of await supervisor.start()) {
      say(
        `${service.name} metrics: ${service.metricsUrl ?? '(none reported)'} (pid ${service.pid ?? '?'})`,
      );
    }
    say(`router, inference, aggregator and decider running (logs in ${logDir})`);
    if (options.labelsVia !== 'labels') say('label ingestion running');
    // The local endpoint is not restarted: a new one would listen on another URL.
    for (const child of children) {
      child.process.once('exit', (code, signal) => {
        if (!stopping && !interrupted) {
          process.stderr.write(
            `${child.name} exited unexpectedly (code ${code}, signal ${signal}); see ${logDir}\n`,
          );
          endpointLost = true;
          interrupted = true;
        }
      });
    }
    const failed = (): Error | null =>
      supervisor?.failure() ??
      (endpointLost ? new Error(`the local endpoint exited; see ${logDir}`) : null);

    if (!options.demo) {
      say(
        'pipeline is running without demo traffic; produce requests and labels yourself. Ctrl-C stops.',
      );
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (interrupted || failed() !== null) {
            clearInterval(timer);
            resolve();
          }
        }, 200);
      });
      const failure = failed();
      await report(() => null);
      await cleanup();
      await removeRunData();
      say(`logs kept in ${logDir}`);
      if (failure !== null) {
        process.stderr.write(`dynab start: ${failure.message}\n`);
        return 1;
      }
      return 0;
    }

    // The corpus is ordered by folder (all easy ham first); users' mails arrive mixed.
    const random = createSeededRandom(options.seed);
    const corpus = splitCorpus(loadSpamCorpus());
    const mails = shuffle(corpus.serve, random);
    demo = await startDemo({
      eventLog,
      codecs,
      topics,
      experiment: options.experiment,
      mails,
      requests: options.requests,
      ratePerSecond: options.rate,
      labelDelayMs: options.labelDelayMs,
      random,
      now: Date.now,
      ...(feedback !== undefined ? { feedback } : {}),
    });
    say(
      `demo: ${Number.isFinite(options.requests) ? options.requests : 'unbounded'} requests at ${options.rate}/s, feedback after ${options.labelDelayMs[0]}-${options.labelDelayMs[1]} ms`,
    );
    const variants = experiment.variants.map((v) => v.name);
    const prior = { alpha: experiment.priorAlpha, beta: experiment.priorBeta };
    const render = (): string => {
      const running = demo;
      if (running === null) return '';
      const p = running.progress;
      const rows = buildVariantRows(variants, p.byVariant, running.partials(), prior);
      const decisionLines = formatDecisionLines(running.statistics(), running.decision());
      const restarts = supervisor?.statusLine() ?? null;
      return [
        `sent ${p.sent}  predicted ${p.predictions}  labelled ${p.labelsSent}`,
        formatLag(running.lag()),
        formatVariantTable(rows),
        ...decisionLines,
        ...(restarts === null ? [] : [restarts]),
      ].join('\n');
    };
    const live = process.stdout.isTTY;
    let lastPrint = 0;
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    let timedOut = false;
    while (!interrupted && !demo.finished() && failed() === null) {
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (Date.now() - lastPrint >= (live ? 500 : 5_000)) {
        lastPrint = Date.now();
        const text = render();
        if (live && lastLines > 0) process.stdout.write(`\u001b[${lastLines}A\u001b[0J`);
        process.stdout.write(`${text}\n`);
        lastLines = text.split('\n').length;
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const failure = failed();
    say('');
    say(
      `summary after ${seconds} s${failure !== null ? ' (a service could not be recovered)' : timedOut ? ' (timed out before every label was folded in)' : interrupted ? ' (interrupted)' : ''}:`,
    );
    say(render());
    const rows = buildVariantRows(variants, demo.progress.byVariant, demo.partials(), prior);
    const leader = [...rows].sort((a, b) => b.share - a.share)[0];
    const best = [...rows].sort((a, b) => b.mean - a.mean)[0];
    if (leader !== undefined && best !== undefined) {
      say(
        `largest traffic share: ${leader.variant} (${(leader.share * 100).toFixed(1)}%); highest posterior mean: ${best.variant} (${best.mean.toFixed(3)})`,
      );
    }
    // The demo's models are known only when the local endpoint serves them.
    await report(() =>
      config.sagemakerEndpointUrl === undefined
        ? demoTrueRates(options.experiment, env, corpus)
        : null,
    );
    await cleanup();
    await removeRunData();
    say(`logs kept in ${logDir}`);
    if (failure !== null) {
      process.stderr.write(`dynab start: ${failure.message}\n`);
      return 1;
    }
    return timedOut ? 1 : 0;
  } catch (error) {
    process.stderr.write(
      `dynab start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\nlogs kept in ${logDir}\n`,
    );
    await cleanup();
    return 1;
  }
}
