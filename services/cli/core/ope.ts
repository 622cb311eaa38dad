// `dynab ope`: the policy to evaluate, as written on the command line, and the report as text.
// Pure.
import type { OffPolicyReport, TargetPolicy } from '../../../lib/stats/off-policy.ts';
import { ArgumentError } from './time-range.ts';

/**
 * A fixed target policy over the experiment's variants:
 *   `variant:NAME`           always NAME
 *   `uniform`                every variant alike
 *   `weights:a=0.2,b=0.8`    these shares (normalised to sum 1; unnamed variants get 0)
 */
export function parseTargetPolicy(text: string, variants: readonly string[]): TargetPolicy {
  const trimmed = text.trim();
  const known = (name: string): string => {
    if (!variants.includes(name))
      throw new ArgumentError(
        `"${name}" is not a variant of the experiment (${variants.join(', ')})`,
      );
    return name;
  };
  if (trimmed === 'uniform') return new Map(variants.map((v) => [v, 1 / variants.length]));
  if (trimmed.startsWith('variant:')) return new Map([[known(trimmed.slice(8)), 1]]);
  if (trimmed.startsWith('weights:')) {
    const shares = trimmed
      .slice(8)
      .split(',')
      .map((part) => {
        const [name = '', share = ''] = part.split('=');
        const value = Number(share);
        if (share.trim() === '' || !Number.isFinite(value) || value < 0)
          throw new ArgumentError(`"${part}" is not NAME=SHARE with a share ≥ 0`);
        return [known(name.trim()), value] as const;
      });
    const total = shares.reduce((sum, [, v]) => sum + v, 0);
    if (!(total > 0)) throw new ArgumentError('the weights sum to 0');
    return new Map(shares.map(([name, v]) => [name, v / total]));
  }
  throw new ArgumentError(
    `"${text}" is not a policy (variant:NAME, uniform, or weights:a=0.2,b=0.8)`,
  );
}

const fixed = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : String(x));

export function formatOffPolicyReport(
  experiment: string,
  policy: TargetPolicy,
  report: OffPolicyReport,
): string {
  const target = [...policy].map(([v, p]) => `${v} ${(p * 100).toFixed(1)}%`).join(', ');
  const lines = [
    `off-policy evaluation of ${target} on ${experiment}: ${report.decisions} logged decisions`,
    `logged policy's own mean reward ${fixed(report.loggedValue)}`,
    'estimator      value   [95% interval]       std. error',
  ];
  for (const [name, e] of [
    ['IPS', report.ips],
    ['SNIPS', report.snips],
    ['doubly robust', report.doublyRobust],
  ] as const) {
    lines.push(
      `${name.padEnd(13)}  ${fixed(e.value)}  [${fixed(e.lower)}, ${fixed(e.upper)}]  ${fixed(e.standardError)}`,
    );
  }
  lines.push(
    `effective sample size ${report.effectiveSampleSize.toFixed(1)} of ${report.decisions} (largest weight ${fixed(report.maxWeight)})`,
  );
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
