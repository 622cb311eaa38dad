// `dynab history`: an experiment's timeline as text, one line per entry. Pure.
import type { ExperimentHistoryEntry } from '../../../lib/contracts/events.ts';

const percent = (p: number): string => `${(p * 100).toFixed(1)}%`;

function describe(entry: ExperimentHistoryEntry): string {
  switch (entry.kind) {
    case 'revision':
      return entry.detail;
    case 'posterior':
      return (
        `version ${entry.posteriorVersion}: ` +
        entry.variants
          .map(
            (v) =>
              `${v.variant} ${v.rewards} rewards, mean ${v.mean.toFixed(3)}, P(best) ${percent(v.probabilityBest)}`,
          )
          .join('; ')
      );
    case 'plan':
      return `${entry.allocation.map((a) => `${a.variant} ${percent(a.probability)}`).join(', ')} by ${entry.policy} (${entry.detail})`;
    case 'decision':
      return entry.detail;
  }
}

export function formatHistory(
  experiment: string,
  entries: readonly ExperimentHistoryEntry[],
): string {
  if (entries.length === 0) return `no history for experiment "${experiment}"`;
  const lines = [`history of ${experiment} (${entries.length} entries)`];
  for (const entry of entries) {
    lines.push(
      `${new Date(entry.at).toISOString()}  r${entry.revision}  ${entry.kind.padEnd(9)}  ${describe(entry)}`,
    );
  }
  return lines.join('\n');
}
