// Kafka's own ceiling, alone:
//   node --import tsx bench/kafka-ceiling-main.ts [--records 300000] [--mail-records 40000]
//        [--latency-messages 2000] [--partitions 4]
// Starts an embedded broker in a temporary folder (DYNAB_BROKERS names an existing cluster
// instead), runs Kafka's producer, consumer and round-trip tools at 256 B and at the served spam
// mails, prints a Markdown table, the commands, and one JSON line, then stops the broker.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedKafka, type EmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import {
  formatKafkaCeilingTable,
  measureKafkaCeiling,
  writeServedMailsPayloadFile,
} from './kafka-ceiling.ts';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const note = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const runDir = await mkdtemp(join(tmpdir(), 'dynab-kafka-ceiling-'));
let kafka: EmbeddedKafka | null = null;
const cleanUp = async (): Promise<void> => {
  await kafka?.stop();
  kafka = null;
  await rm(runDir, { recursive: true, force: true });
};
process.once('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130));
});

try {
  let brokers = (process.env['DYNAB_BROKERS'] ?? '').split(',').filter((b) => b !== '');
  if (brokers.length === 0) {
    kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka'), onProgress: note });
    brokers = kafka.brokers;
  }
  const mails = await writeServedMailsPayloadFile(runDir);
  const report = await measureKafkaCeiling({
    brokers,
    partitions: flag('partitions', 4),
    latencyMessages: flag('latency-messages', 2_000),
    sizes: [
      {
        label: 'fixed-size',
        payload: { kind: 'fixed', bytes: 256 },
        records: flag('records', 300_000),
      },
      {
        label: `${mails.count} served spam mails`,
        payload: mails,
        records: flag('mail-records', 40_000),
      },
    ],
    onProgress: note,
  });
  say(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${new Date().toISOString().slice(0, 10)}`,
  );
  say(
    `\n### Kafka ${report.kafkaVersion}'s own ceiling (${report.partitions} partitions; producer ${Object.entries(
      report.producerProps,
    )
      .map(([key, value]) => `${key}=${value}`)
      .join(' ')})\n`,
  );
  say(formatKafkaCeilingTable(report));
  say('\nCommands ($KAFKA_TOOLS_CP: the broker jars plus kafka-tools):\n');
  for (const row of report.rows)
    for (const run of [row.producer, row.consumer, row.latency]) say(`    ${run.command}`);
  say('');
  say(JSON.stringify({ kafkaCeiling: report }));
} finally {
  await cleanUp();
}
