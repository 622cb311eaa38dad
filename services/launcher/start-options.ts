// Command-line options of `npm start` (`dynab start`). Pure parsing, every problem reported.

/**
 * How the demo's user feedback reaches the aggregator: as labels on the labels topic, or as
 * application-log records that label ingestion maps to labels, on a Kafka topic or a Kinesis
 * stream (a local emulator unless DYNAB_KINESIS_ENDPOINT_URL names one).
 */
export const LABEL_ROUTES = ['labels', 'app-logs', 'kinesis'] as const;
export type LabelRoute = (typeof LABEL_ROUTES)[number];

export interface StartOptions {
  readonly help: boolean;
  /** Run demo traffic (default) or only the pipeline (--no-demo). */
  readonly demo: boolean;
  /** Requests the demo sends before it stops (default: unbounded, until Ctrl-C). */
  readonly requests: number;
  /** Demo requests per second. */
  readonly rate: number;
  /** Delay of the users' feedback after the prediction, uniform in [min, max] ms. */
  readonly labelDelayMs: readonly [number, number];
  /** Experiment (= local endpoint) name. */
  readonly experiment: string;
  /** Brokers; when set, nothing local is started for Kafka. */
  readonly brokers: string[] | undefined;
  /** Seed of the demo's random feedback delays. */
  readonly seed: number;
  /** Give up waiting for the demo to finish after this long. */
  readonly timeoutMs: number;
  /** Where the demo's feedback goes (--labels-via). */
  readonly labelsVia: LabelRoute;
}

export const START_USAGE = `Usage: npm start -- [options]
  --requests N          stop after N demo requests (default: run until Ctrl-C)
  --rate R              demo requests per second (default 1000)
  --label-delay-ms A-B  feedback arrives A..B ms after the prediction (default 200-3000)
  --experiment NAME     experiment / endpoint name (default spam-filter)
  --brokers LIST        use an existing Kafka cluster (also DYNAB_BROKERS)
  --seed N              seed of the demo's random choices (default 1)
  --timeout-s S         fail if the demo has not finished after S seconds (default 900)
  --labels-via WAY      demo feedback as labels (default), or as app logs that label
                        ingestion maps to labels: app-logs (Kafka topic), kinesis (a local
                        Kinesis emulator, or DYNAB_KINESIS_ENDPOINT_URL)
  --no-demo             run the pipeline only, for your own producers
  --help`;

export function parseStartArgs(argv: readonly string[]): StartOptions {
  const problems: string[] = [];
  let help = false;
  let demo = true;
  let requests = Number.POSITIVE_INFINITY;
  let rate = 1000;
  let labelDelayMs: [number, number] = [200, 3000];
  let experiment = 'spam-filter';
  let brokers: string[] | undefined;
  let seed = 1;
  let timeoutMs = 900_000;
  let labelsVia: LabelRoute = 'labels';
  const positive = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n <= 0) {
      problems.push(`${flag} needs a positive number`);
      return 1;
    }
    return n;
  };
  const wholeNumber = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isSafeInteger(n) || n < 1) {
      problems.push(`${flag} needs a positive whole number`);
      return 1;
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--help':
      case '-h':
        help = true;
        break;
      case '--no-demo':
        demo = false;
        break;
      case '--requests':
        requests = wholeNumber(flag, argv[++i]);
        break;
      case '--rate':
        rate = positive(flag, argv[++i]);
        break;
      case '--seed':
        seed = wholeNumber(flag, argv[++i]);
        break;
      case '--timeout-s':
        timeoutMs = positive(flag, argv[++i]) * 1000;
        break;
      case '--experiment': {
        const value = argv[++i];
        if (value === undefined || value === '') problems.push('--experiment needs a name');
        else experiment = value;
        break;
      }
      case '--brokers': {
        const value = argv[++i];
        if (value === undefined || value === '')
          problems.push('--brokers needs host:port[,host:port]');
        else {
          brokers = value.split(',').filter((b) => b !== '');
          // An empty list would silently mean "start a local broker", the opposite of the ask.
          if (brokers.length === 0) problems.push('--brokers needs host:port[,host:port]');
        }
        break;
      }
      case '--labels-via': {
        const value = argv[++i] ?? '';
        if ((LABEL_ROUTES as readonly string[]).includes(value)) labelsVia = value as LabelRoute;
        else problems.push(`--labels-via needs one of ${LABEL_ROUTES.join(', ')}`);
        break;
      }
      case '--label-delay-ms': {
        const match = /^(\d+)-(\d+)$/.exec(argv[++i] ?? '');
        if (match === null || Number(match[1]) > Number(match[2]))
          problems.push('--label-delay-ms needs MIN-MAX in ms, MIN <= MAX');
        else labelDelayMs = [Number(match[1]), Number(match[2])];
        break;
      }
      default:
        problems.push(`unknown option ${String(flag)}`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return {
    help,
    demo,
    requests,
    rate,
    labelDelayMs,
    experiment,
    brokers,
    seed,
    timeoutMs,
    labelsVia,
  };
}
