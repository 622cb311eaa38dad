// Which InvokeEndpoint calls a batch of assignments needs. Every assignment asks for one
// invocation of its served variant and one per shadow variant; invocations of the same endpoint
// (experiment), variant and content type are packed into batch calls in the experiment's batch
// format, within the record and byte limits. Invocations that leave the variant to the endpoint
// form their own group: SageMaker routes a whole call to one variant, which then answers for
// every record of it. What a batch cannot carry goes alone, in its own format, exactly as without
// batching. Pure.

import { ENDPOINT_CHOOSES, type VariantAssigned } from '../../../lib/contracts/events.ts';
import { shadowRequestId } from '../../../lib/contracts/experiment-defaults.ts';
import {
  assembleBatchBody,
  batchBodyLength,
  encodeBatchEntry,
  type BatchFormat,
} from '../../../lib/model-batch/batch-format.ts';

/** One prediction to make: an assignment's served variant, or one of its shadow variants. */
export interface Invocation {
  /** Index of the assignment's record in the consumed batch. */
  readonly record: number;
  readonly assignment: VariantAssigned;
  /** The shadow variant invoked, or null for the served one. */
  readonly shadowVariant: string | null;
}

export interface BatchLimits {
  readonly maxRecords: number;
  readonly maxBytes: number;
}

export type PlannedCall =
  | { readonly kind: 'single'; readonly invocation: Invocation }
  | {
      readonly kind: 'batch';
      readonly format: BatchFormat;
      readonly invocations: readonly Invocation[];
      readonly body: Uint8Array;
    };

/** The served invocation, then one per shadow variant, in the assignment's order. */
export function invocationsOf(assignment: VariantAssigned, record: number): Invocation[] {
  return [
    { record, assignment, shadowVariant: null },
    ...assignment.shadowVariants.map((shadowVariant) => ({ record, assignment, shadowVariant })),
  ];
}

/** The variant asked for: ENDPOINT_CHOOSES when the router left the choice to the endpoint. */
export function variantOf(invocation: Invocation): string {
  return invocation.shadowVariant ?? invocation.assignment.variant;
}

/**
 * The TargetVariant of the call; null sends none, so the endpoint picks by its own
 * production-variant weights (the router's fallback for an unknown experiment).
 */
export function targetVariantOf(invocation: Invocation): string | null {
  const variant = variantOf(invocation);
  return variant === ENDPOINT_CHOOSES ? null : variant;
}

export function requestIdOf(invocation: Invocation): string {
  const { requestId } = invocation.assignment.request;
  return invocation.shadowVariant === null
    ? requestId
    : shadowRequestId(requestId, invocation.shadowVariant);
}

/**
 * The batch format configured for an experiment (`*` for unlisted ones); null when its
 * invocations go one by one.
 */
export function batchFormatFor(
  settings: Readonly<Record<string, BatchFormat | 'none'>>,
  experiment: string,
): BatchFormat | null {
  const setting = Object.hasOwn(settings, experiment)
    ? settings[experiment]
    : Object.hasOwn(settings, '*')
      ? settings['*']
      : undefined;
  return setting === undefined || setting === 'none' ? null : setting;
}

/**
 * Packs invocations into calls. Within a group (endpoint, variant, content type) records keep
 * their order and fill each batch up to `maxRecords` records and `maxBytes` of body. A record
 * whose entry alone exceeds `maxBytes` is sent alone in its own format: the endpoint, not this
 * limit, decides whether it is too large. A batch that would hold one record is sent as that
 * single record, so light traffic looks exactly as it did before batching.
 */
export function planCalls(
  invocations: readonly Invocation[],
  formatOf: (experiment: string) => BatchFormat | null,
  limits: BatchLimits,
): PlannedCall[] {
  const calls: PlannedCall[] = [];
  const groups = new Map<string, { format: BatchFormat; invocations: Invocation[] }>();
  for (const invocation of invocations) {
    const { request } = invocation.assignment;
    const format = formatOf(request.experiment);
    if (format === null || limits.maxRecords < 2) {
      calls.push({ kind: 'single', invocation });
      continue;
    }
    const key = JSON.stringify([request.experiment, variantOf(invocation), request.contentType]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { format, invocations: [] };
      groups.set(key, group);
    }
    group.invocations.push(invocation);
  }
  for (const group of groups.values()) packGroup(group.format, group.invocations, limits, calls);
  return calls;
}

function packGroup(
  format: BatchFormat,
  invocations: readonly Invocation[],
  limits: BatchLimits,
  calls: PlannedCall[],
): void {
  let members: Invocation[] = [];
  let entries: Uint8Array[] = [];
  let entryBytes = 0;
  const flush = (): void => {
    const [first] = members;
    if (members.length === 1 && first !== undefined) {
      calls.push({ kind: 'single', invocation: first });
    } else if (members.length > 1) {
      calls.push({
        kind: 'batch',
        format,
        invocations: members,
        body: assembleBatchBody(format, entries),
      });
    }
    members = [];
    entries = [];
    entryBytes = 0;
  };
  for (const invocation of invocations) {
    const { payload, contentType } = invocation.assignment.request;
    const entry = encodeBatchEntry(format, payload, contentType);
    if (entry === null || batchBodyLength(format, 1, entry.length) > limits.maxBytes) {
      calls.push({ kind: 'single', invocation });
      continue;
    }
    const full =
      members.length >= limits.maxRecords ||
      batchBodyLength(format, members.length + 1, entryBytes + entry.length) > limits.maxBytes;
    if (full) flush();
    members.push(invocation);
    entries.push(entry);
    entryBytes += entry.length;
  }
  flush();
}
