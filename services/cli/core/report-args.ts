// Arguments of `dynab report`. Pure parsing; a problem throws with a message for the user.
import { parseTrueRates } from './report-data.ts';

export const REPORT_USAGE = `Usage: dynab report EXPERIMENT [--out FILE.html] [--true-rates VARIANT=RATE,...]
  Writes one self-contained HTML report (opens without a network): cumulative reward, reward
  rate per batch, traffic share, Beta posteriors at checkpoints, P(best) over time, the decision,
  and the expected regret when the true rates are given. Reads DYNAB_BROKERS, DYNAB_TOPIC_PREFIX.
  --out FILE.html        where to write it (default dynab-report-EXPERIMENT.html)
  --true-rates LIST      true mean reward per variant, e.g. champion=0.83,challenger=0.97`;

export interface ReportArgs {
  readonly experiment: string;
  readonly out: string;
  readonly trueRates: ReadonlyMap<string, number> | null;
}

export function parseReportArgs(args: readonly string[]): ReportArgs | 'help' {
  let experiment: string | undefined;
  let out: string | undefined;
  let trueRates: Map<string, number> | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h' || arg === 'help') return 'help';
    if (arg === '--out') {
      out = args[++i];
      if (out === undefined || out === '') throw new Error('--out needs a file name');
    } else if (arg === '--true-rates') {
      trueRates = parseTrueRates(args[++i] ?? '');
    } else if (arg?.startsWith('-') === true) {
      throw new Error(`unknown option ${arg}`);
    } else if (experiment === undefined) {
      experiment = arg;
    } else throw new Error(`unexpected argument ${String(arg)}`);
  }
  if (experiment === undefined || experiment === '') throw new Error('an experiment is required');
  return {
    experiment,
    out: out ?? `dynab-report-${experiment.replace(/[^A-Za-z0-9._-]/g, '_')}.html`,
    trueRates,
  };
}
