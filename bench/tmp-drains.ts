import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import { loadCodecs } from '../lib/codec/avro-codec.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import { loadSpamCorpus, splitCorpus } from '../services/local-endpoint/spam-corpus.ts';
import { runDrains } from './scale-drains.ts';
import { CleanupStack } from './scale-harness.ts';
import { inStage, payloadSizes, type ScaleContext } from './scale-stage.ts';
const note = (m: string) => process.stderr.write(`tmp: ${m}\n`);
const runDir = await mkdtemp(join(tmpdir(), 'dynab-tmpdrain-'));
const logDir = join(runDir, 'logs'); await mkdir(logDir, { recursive: true });
const run = new CleanupStack(note);
try {
  const kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka'), onProgress: note });
  run.defer('stop the broker', () => kafka.stop());
  const eventLog = new KafkaEventLog({ brokers: kafka.brokers, clientId: 'tmp' });
  run.defer('close', () => eventLog.close());
  await eventLog.waitUntilReady(60_000);
  const ctx: ScaleContext = { eventLog, codecs: loadCodecs(), brokers: kafka.brokers, classpath: await (await import('../infra/kafka/kafka-tools.ts')).resolveKafkaToolsClasspath(undefined, note), partitions: 4, runDir, logDir, runPrefix: `tmp-${randomUUID().slice(0, 8)}.`, brokerPid: kafka.pid, note };
  const sizes = payloadSizes(splitCorpus(loadSpamCorpus()).serve);
  const which = process.env.TMP_SIZE === 'spam' ? sizes.spam : sizes.small;
  const n = Number(process.env.TMP_N ?? 150000);
  for (let i = 0; i < Number(process.env.TMP_REPS ?? 1); i++) {
    const r = await inStage(ctx, run, `drains-${i}`, (stage) => runDrains(ctx, stage, which, n, false));
    console.log(JSON.stringify([r.router, r.routerTwin, r.inferenceInstant, r.inferenceTwin].map((d) => [d.name, Math.round(d.perSecond)])), (r.router.perSecond / r.routerTwin.perSecond).toFixed(2));
  }
} finally { await run.runAll(); }
