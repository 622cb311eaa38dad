// The rules an experiment definition must satisfy beyond its Avro shape. The CLI refuses a
// definition that breaks them; the router and the aggregator ignore such a record (and keep the
// previous definition), so one bad write cannot stop routing. Pure.
import { DynabError } from '../errors/catalogue.ts';
import type { ExperimentDefined } from './events.ts';

const finite = (x: number): boolean => Number.isFinite(x);

/** Every problem of the definition, as human-readable sentences; empty when it is valid. */
export function experimentProblems(e: ExperimentDefined): string[] {
  const problems: string[] = [];
  const fail = (message: string): void => {
    problems.push(message);
  };
  if (e.experiment.trim() === '') fail('experiment: a non-empty name is required');
  if (e.variants.length === 0) fail('variants: at least one variant is required');
  const names = new Set<string>();
  for (const v of e.variants) {
    if (v.name === '') fail('variants: names must be non-empty');
    if (names.has(v.name)) fail(`variants: "${v.name}" appears twice`);
    names.add(v.name);
    if (!(finite(v.weight) && v.weight >= 0)) {
      fail(`variants: weight of "${v.name}" must be a finite number ≥ 0, got ${v.weight}`);
    }
  }
  for (const s of e.shadowVariants) {
    if (names.has(s)) fail(`shadowVariants: "${s}" is also a served variant`);
  }
  if (new Set(e.shadowVariants).size !== e.shadowVariants.length) {
    fail('shadowVariants: a variant appears twice');
  }
  if (!(finite(e.priorAlpha) && e.priorAlpha > 0)) fail('priorAlpha: must be > 0');
  if (!(finite(e.priorBeta) && e.priorBeta > 0)) fail('priorBeta: must be > 0');
  if (!(finite(e.priorVariance) && e.priorVariance > 0)) fail('priorVariance: must be > 0');
  if (!(finite(e.priorStrength) && e.priorStrength > 0)) fail('priorStrength: must be > 0');
  if (!finite(e.priorMean)) fail('priorMean: must be a finite number');
  if (!(e.warmUpRewards >= 0)) fail('warmUpRewards: must be ≥ 0');
  if (!(e.attributionWindowMs > 0)) fail('attributionWindowMs: must be > 0');
  if (!(e.graceMs >= 0)) fail('graceMs: must be ≥ 0');
  if (e.implicitReward !== null) {
    const bounded = e.rewardKind === 'unit-interval';
    if (!finite(e.implicitReward) || (bounded && (e.implicitReward < 0 || e.implicitReward > 1))) {
      fail(`implicitReward: must be null or ${bounded ? 'in [0, 1]' : 'finite'}`);
    }
  }
  if (!(finite(e.epsilon) && e.epsilon >= 0 && e.epsilon <= 1)) fail('epsilon: must be in [0, 1]');
  if (!(finite(e.ucbExploration) && e.ucbExploration >= 0)) fail('ucbExploration: must be ≥ 0');
  const k = e.variants.length;
  if (!(finite(e.probabilityFloor) && e.probabilityFloor >= 0 && e.probabilityFloor * k <= 1)) {
    fail(`probabilityFloor: must be in [0, 1/K] = [0, ${(1 / Math.max(1, k)).toPrecision(3)}]`);
  }
  if (e.halfLifeMs !== null && !(e.halfLifeMs > 0)) fail('halfLifeMs: must be null or > 0');
  if (e.policy === 'gaussian-thompson-sampling' && e.rewardKind !== 'real') {
    fail('policy gaussian-thompson-sampling needs rewardKind "real"');
  }
  if (e.rewardKind === 'real' && e.policy === 'thompson-sampling') {
    fail(
      'policy thompson-sampling (Beta-Bernoulli) needs rewards in [0, 1]; use gaussian-thompson-sampling',
    );
  }
  if (e.champion !== null && !names.has(e.champion)) {
    fail(`champion: "${e.champion}" is not a variant`);
  }
  if (e.winner !== null && !names.has(e.winner)) fail(`winner: "${e.winner}" is not a variant`);
  if (e.state === 'promoted' && e.winner === null) fail('state promoted needs a winner');
  if (e.canary !== null) {
    const c = e.canary;
    const champion = e.champion ?? e.variants[0]?.name;
    if (!names.has(c.challenger)) fail(`canary.challenger: "${c.challenger}" is not a variant`);
    if (c.challenger === champion) fail('canary.challenger: must differ from the champion');
    if (!(c.share > 0 && c.share < 1)) fail('canary.share: must be in (0, 1)');
    if (!(finite(c.margin) && c.margin >= 0)) fail('canary.margin: must be ≥ 0');
    if (!(c.confidence > 0 && c.confidence < 1)) fail('canary.confidence: must be in (0, 1)');
    if (!(c.minRewards >= 0)) fail('canary.minRewards: must be ≥ 0');
  }
  const s = e.stopping;
  if (s.rule !== 'none' && !(s.threshold > 0 && s.threshold < 1)) {
    fail('stopping.threshold: must be in (0, 1)');
  }
  if (!(s.minRewards >= 0)) fail('stopping.minRewards: must be ≥ 0');
  if (!(finite(s.tolerance) && s.tolerance > 0)) fail('stopping.tolerance: must be > 0');
  const mde = s.minimumDetectableEffect;
  if (mde !== null && !(finite(mde) && mde > 0 && (e.rewardKind === 'real' || mde < 1))) {
    fail('stopping.minimumDetectableEffect: must be null or > 0 (below 1 for rewards in [0, 1])');
  }
  // Goal decide is paired with top-two Thompson sampling, which the Bayesian policies provide.
  if (
    s.goal === 'decide' &&
    e.policy !== 'thompson-sampling' &&
    e.policy !== 'gaussian-thompson-sampling'
  ) {
    fail(
      'stopping.goal decide needs policy thompson-sampling or gaussian-thompson-sampling (top-two allocation)',
    );
  }
  return problems;
}

/**
 * The definition read from the experiments topic under `key`, if it may take effect: services
 * that read the topic keep the previous valid definition when this throws (INVALID_FIELD with
 * every problem), so one bad write cannot stop routing, joining or deciding.
 */
export function validExperimentOf(key: string, e: ExperimentDefined): ExperimentDefined {
  const problems = experimentProblems(e);
  if (key !== e.experiment)
    problems.push(`key: the record's key "${key}" is not its experiment "${e.experiment}"`);
  if (problems.length > 0)
    throw new DynabError('INVALID_FIELD', `invalid experiment definition: ${problems.join('; ')}`);
  return e;
}
