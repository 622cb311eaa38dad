// One routing decision: request in, assignment out (or a typed error for the dead-letter
// topic). Pure: the random source and the decision time are passed in.
import { decide } from '../../../lib/bandit/policies.ts';
import type { RandomSource } from '../../../lib/bandit/random.ts';
import type { UnknownExperimentMode } from '../../../lib/config/config.ts';
import type { InferenceRequested, VariantAssigned } from '../../../lib/contracts/events.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';
import { fallbackAssignment } from './fallback.ts';
import type { ExperimentRoute } from './routing-table.ts';
import { stickyDecision } from './sticky.ts';

export interface AssignOptions {
  readonly maxPayloadBytes: number;
  /** A request for an experiment without a route: `fallback` or `dead-letter` (the config key). */
  readonly unknownExperiment: UnknownExperimentMode;
}

export function assignVariant(
  request: InferenceRequested,
  route: ExperimentRoute | undefined,
  options: AssignOptions,
  random: RandomSource,
  now: number,
): VariantAssigned {
  if (request.payload.byteLength > options.maxPayloadBytes) {
    throw new DynabError(
      'PAYLOAD_TOO_LARGE',
      `payload of request ${request.requestId} is ${request.payload.byteLength} bytes; the limit is ${options.maxPayloadBytes}`,
    );
  }
  if (route === undefined) {
    if (options.unknownExperiment === 'fallback') return fallbackAssignment(request, now);
    throw new DynabError(
      'UNKNOWN_EXPERIMENT',
      `experiment "${request.experiment}" is not defined (request ${request.requestId})`,
    );
  }
  if (request.targetVariant !== null) {
    if (!route.experiment.variants.some((v) => v.name === request.targetVariant)) {
      throw new DynabError(
        'UNKNOWN_VARIANT',
        `target variant "${request.targetVariant}" is not a variant of experiment "${request.experiment}" (request ${request.requestId})`,
      );
    }
    return {
      request,
      variant: request.targetVariant,
      policy: 'target-variant',
      snapshotVersion: route.snapshotVersion,
      propensity: 1,
      reason: 'target variant requested by the caller',
      decisionTime: now,
      allocation: [{ variant: request.targetVariant, probability: 1 }],
      shadowVariants: shadowsOf(route),
      experimentRevision: route.experiment.revision,
    };
  }
  const stickyUser = route.experiment.sticky ? request.userId : null;
  const sticky = stickyUser !== null;
  const decision =
    stickyUser !== null
      ? stickyDecision(route.plan, route.experiment.experiment, stickyUser)
      : decide(route.plan, random);
  return {
    request,
    variant: decision.variant,
    policy: route.policy,
    snapshotVersion: route.snapshotVersion,
    propensity: decision.propensity,
    reason: sticky ? `${route.reason}; sticky by user` : route.reason,
    decisionTime: now,
    allocation: route.allocation,
    shadowVariants: shadowsOf(route),
    experimentRevision: route.experiment.revision,
  };
}

/** Shadow copies run while the experiment is live (running or paused), not once it ended. */
function shadowsOf(route: ExperimentRoute): readonly string[] {
  const { state, shadowVariants } = route.experiment;
  return state === 'running' || state === 'paused' ? shadowVariants : [];
}
