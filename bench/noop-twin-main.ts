// The no-op twin of a stream service, for `npm run bench -- scale`: the same runner
// (startProcessorRunner), client and process shell (runService: config, event log, readiness over
// IPC, SIGTERM) as the router and inference, consuming an input topic and producing, per input
// record, one output record of the same size (key, value and headers copied) with no work. A
// service's rate divided by its twin's is then the share of the plumbing's ceiling it reaches.
//
// Besides the usual DYNAB_* config (brokers, prefix for the dead-letter topic, instance id):
//   DYNAB_TWIN_INPUT        topic to consume (required)
//   DYNAB_TWIN_OUTPUT       topic to produce to (required)
//   DYNAB_TWIN_GROUP        consumer group (required); the transactional id adds the instance id
//   DYNAB_TWIN_CONCURRENCY  records of a batch processed at once (default 1, as the router)
import type { OutRecord } from '../lib/event-log/event-log.ts';
import { runService } from '../lib/runtime/service-main.ts';
import { startProcessorRunner } from '../lib/stream/processor-runner.ts';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    process.stderr.write(`noop-twin: ${name} is not set\n`);
    process.exit(2);
  }
  return value;
}

const input = required('DYNAB_TWIN_INPUT');
const output = required('DYNAB_TWIN_OUTPUT');
const group = required('DYNAB_TWIN_GROUP');
const concurrency = Number(process.env['DYNAB_TWIN_CONCURRENCY'] ?? '1');
if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
  process.stderr.write('noop-twin: DYNAB_TWIN_CONCURRENCY must be a positive integer\n');
  process.exit(2);
}

await runService('noop-twin', ({ config, eventLog, codecs, topics, logger, onFatal }) =>
  startProcessorRunner(
    {
      service: 'noop-twin',
      eventLog,
      groupId: group,
      topics: [input],
      deadLetterTopic: topics.deadLetters,
      transactionalId: `${group}-${config.instanceId}`,
      concurrency,
      maxAttempts: 1,
      encodeDeadLetter: (letter) => codecs['dead-letter'].encode(letter),
      logger,
      now: Date.now,
      onFatal,
    },
    {
      process: (record): OutRecord[] => [
        { topic: output, key: record.key, value: record.value, headers: record.headers },
      ],
    },
  ),
);
