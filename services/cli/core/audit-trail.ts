// `dynab audit`: the trail of one request, assembled from what the topics hold about it. Pure:
// the I/O shell (audit-command.ts) reads the slices of the request's partition and hands the
// decoded records here; this module decides what they say and renders them as text.
import type {
  DeadLettered,
  InferenceRequested,
  LabelReceived,
  PredictionMade,
  RewardResolved,
  VariantAssigned,
} from '../../../lib/contracts/events.ts';

/** A decoded record with where it was found. */
export interface Found<T> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The record's Kafka timestamp (epoch ms). */
  readonly timestamp: number;
  readonly value: T;
}

/** One topic-partition read for the audit: the offsets of the time slice and of the log. */
export interface SliceRead {
  readonly topic: string;
  readonly partition: number;
  /** First offset at or after the slice start. */
  readonly from: string;
  /** First offset after the slice end (exclusive). */
  readonly until: string;
  /** The log start offset: everything before it was removed (retention, compaction). */
  readonly low: string;
}

export interface AuditInput {
  readonly requestId: string;
  /** The partition number the request id hashes to (murmur2, as the producers). */
  readonly partition: number;
  readonly partitions: number;
  /** The time slice read, epoch ms, inclusive start and exclusive end. */
  readonly sliceStart: number;
  readonly sliceEnd: number;
  readonly slices: readonly SliceRead[];
  readonly requests: readonly Found<InferenceRequested>[];
  readonly assignments: readonly Found<VariantAssigned>[];
  readonly predictions: readonly Found<PredictionMade>[];
  readonly labels: readonly Found<LabelReceived>[];
  readonly rewards: readonly Found<RewardResolved>[];
  readonly lateLabels: readonly Found<RewardResolved>[];
  readonly deadLetters: readonly Found<DeadLettered>[];
  /** Records with the request id as key that did not decode. */
  readonly unreadable: readonly { topic: string; offset: string; reason: string }[];
}

/** How the request ended, as far as the slice shows. */
export type AuditOutcome =
  'label' | 'implicit' | 'late' | 'orphan' | 'failed' | 'pending' | 'not-found';

export interface AuditTrail {
  readonly requestId: string;
  readonly partition: number;
  readonly partitions: number;
  readonly slice: { readonly start: number; readonly end: number };
  readonly request: Found<InferenceRequested> | null;
  readonly assignment: Found<VariantAssigned> | null;
  readonly predictions: readonly Found<PredictionMade>[];
  readonly labels: readonly Found<LabelReceived>[];
  readonly rewards: readonly Found<RewardResolved>[];
  readonly lateLabels: readonly Found<RewardResolved>[];
  readonly deadLetters: readonly Found<DeadLettered>[];
  readonly unreadable: AuditInput['unreadable'];
  readonly outcome: AuditOutcome;
  /** One sentence on the outcome. */
  readonly explanation: string;
  /** What retention has removed where it touches the slice, one sentence per topic-partition. */
  readonly retention: readonly string[];
  /** Disagreements between the records (a reward credited to another decision, say). */
  readonly warnings: readonly string[];
}

const byOffset = <T>(a: Found<T>, b: Found<T>): number =>
  a.topic === b.topic ? Number(BigInt(a.offset) - BigInt(b.offset)) : a.timestamp - b.timestamp;

/** The last element (the latest record), if any. */
const last = <T>(items: readonly T[]): T | null => items[items.length - 1] ?? null;

export function buildAuditTrail(input: AuditInput): AuditTrail {
  const sorted = <T>(items: readonly Found<T>[]): Found<T>[] => [...items].sort(byOffset);
  const request = last(sorted(input.requests));
  const assignment = last(sorted(input.assignments));
  const predictions = sorted(input.predictions);
  const labels = [...input.labels].sort((a, b) => a.timestamp - b.timestamp);
  const rewards = sorted(input.rewards);
  const lateLabels = sorted(input.lateLabels);
  const deadLetters = sorted(input.deadLetters);

  const retention = input.slices.flatMap((s) => {
    const low = BigInt(s.low);
    // The slice begins at the log start: records the slice would have held may be gone.
    if (low > 0n && BigInt(s.from) <= low) {
      return [
        `${s.topic} partition ${s.partition}: the log now starts at offset ${s.low}; the ${s.low} records before it were removed (retention), so part of the slice may be missing`,
      ];
    }
    return [];
  });

  const warnings: string[] = [];
  const served = predictions.find((p) => p.value.shadowOf === null) ?? null;
  for (const reward of [...rewards, ...lateLabels]) {
    const r = reward.value;
    if (assignment !== null) {
      const a = assignment.value;
      if (r.policy != null && r.policy !== a.policy)
        warnings.push(
          `reward at offset ${reward.offset} names policy ${r.policy}, the assignment ${a.policy}`,
        );
      if (r.snapshotVersion != null && r.snapshotVersion !== a.snapshotVersion)
        warnings.push(
          `reward at offset ${reward.offset} names snapshot version ${r.snapshotVersion}, the assignment ${a.snapshotVersion}`,
        );
    }
    if (served !== null) {
      const credited = served.value.invokedVariant ?? served.value.requestedVariant;
      if (r.variant !== credited)
        warnings.push(
          `reward at offset ${reward.offset} credits ${r.variant}, the prediction was answered by ${credited}`,
        );
    }
  }
  if (
    assignment !== null &&
    served !== null &&
    served.value.requestedVariant !== assignment.value.variant
  )
    warnings.push(
      `the prediction asked for ${served.value.requestedVariant}, the assignment chose ${assignment.value.variant}`,
    );

  const { outcome, explanation } = outcomeOf({
    found: request !== null || assignment !== null || predictions.length > 0 || labels.length > 0,
    served,
    rewards,
    lateLabels,
    deadLetters,
    labels,
    retentionTouches: retention.length > 0,
  });
  return {
    requestId: input.requestId,
    partition: input.partition,
    partitions: input.partitions,
    slice: { start: input.sliceStart, end: input.sliceEnd },
    request,
    assignment,
    predictions,
    labels,
    rewards,
    lateLabels,
    deadLetters,
    unreadable: input.unreadable,
    outcome,
    explanation,
    retention,
    warnings,
  };
}

function outcomeOf(facts: {
  found: boolean;
  served: Found<PredictionMade> | null;
  rewards: readonly Found<RewardResolved>[];
  lateLabels: readonly Found<RewardResolved>[];
  deadLetters: readonly Found<DeadLettered>[];
  labels: readonly Found<LabelReceived>[];
  retentionTouches: boolean;
}): { outcome: AuditOutcome; explanation: string } {
  const reward = last(facts.rewards);
  if (reward !== null) {
    const r = reward.value;
    const how =
      r.resolution === 'implicit'
        ? 'implicitly: its attribution window closed without a label'
        : `by a label (event time ${iso(r.labelTime)})`;
    const outcome: AuditOutcome = r.resolution === 'implicit' ? 'implicit' : 'label';
    const late =
      facts.lateLabels.length > 0
        ? `; ${facts.lateLabels.length} later label(s) came after the window and were reported as late, not counted`
        : '';
    return {
      outcome,
      explanation: `resolved ${how}: reward ${r.reward} credited to ${r.variant}${late}`,
    };
  }
  const lateLabel = last(facts.lateLabels);
  if (lateLabel !== null) {
    return {
      outcome: 'late',
      explanation: `the label came after the attribution window: reported as late (would have earned ${lateLabel.value.reward}), never folded into the posterior`,
    };
  }
  const orphan = facts.deadLetters.find((d) => d.value.errorCode === 'ORPHAN_LABEL');
  if (orphan !== undefined) {
    return {
      outcome: 'orphan',
      explanation: `a label waited for a prediction that never came and was dead-lettered as an orphan: ${orphan.value.reason}`,
    };
  }
  if (facts.served?.value.error != null) {
    return {
      outcome: 'failed',
      explanation: `the invocation failed (${facts.served.value.error.code}): a failed prediction earns nothing`,
    };
  }
  if (facts.found) {
    return {
      outcome: 'pending',
      explanation:
        facts.served === null
          ? 'no prediction in the slice yet'
          : facts.labels.length === 0
            ? 'no reward in the slice: waiting for a label, or dropped uncounted when its window closed (an experiment without an implicit reward)'
            : 'a label is there but no reward in the slice: it may still be in flight, or was refused (see the dead letters)',
    };
  }
  return {
    outcome: 'not-found',
    explanation: facts.retentionTouches
      ? 'nothing about this request in the slice; retention has removed part of it (see below)'
      : 'nothing about this request in the slice: check the id, or widen the slice (--from/--to)',
  };
}

function iso(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

const where = (f: Found<unknown>): string => `${f.topic}/${f.partition}@${f.offset}`;

const percent = (p: number): string => `${(p * 100).toFixed(1)}%`;

/** The trail as readable text, one section per step. */
export function formatAuditTrail(trail: AuditTrail): string {
  const lines: string[] = [];
  lines.push(
    `request   ${trail.requestId} (partition ${trail.partition} of ${trail.partitions}; slice ${iso(trail.slice.start)} .. ${iso(trail.slice.end)})`,
  );
  const { request, assignment } = trail;
  if (request === null) lines.push('request   not found in the slice');
  else {
    const r = request.value;
    lines.push(
      `          experiment ${r.experiment}, event time ${iso(r.eventTime)}, ${r.payload.byteLength} bytes ${r.contentType}` +
        (r.userId === null ? '' : `, user ${r.userId}`) +
        (r.targetVariant === null ? '' : `, target variant ${r.targetVariant}`) +
        `  [${where(request)}]`,
    );
  }
  if (assignment === null) lines.push('routing   no assignment in the slice');
  else {
    const a = assignment.value;
    lines.push(
      `routing   ${a.variant === '' ? '(endpoint chooses)' : a.variant} by ${a.policy} at ${iso(a.decisionTime)}, propensity ${a.propensity.toFixed(4)}  [${where(assignment)}]`,
    );
    lines.push(
      `          experiment revision ${a.experimentRevision ?? 'unknown'}, posterior snapshot version ${a.snapshotVersion}; reason: ${a.reason}`,
    );
    if (a.allocation.length > 0)
      lines.push(
        `          allocation ${a.allocation.map((v) => `${v.variant} ${percent(v.probability)}`).join(', ')}`,
      );
    if (a.shadowVariants.length > 0) lines.push(`          shadow ${a.shadowVariants.join(', ')}`);
  }
  if (trail.predictions.length === 0) lines.push('predicted no prediction in the slice');
  for (const found of trail.predictions) {
    const p = found.value;
    const answered = p.invokedVariant ?? '(none)';
    lines.push(
      `predicted asked ${p.requestedVariant === '' ? '(endpoint chooses)' : p.requestedVariant}, answered ${answered}, ` +
        (p.error === null
          ? `label ${p.predictedLabel ?? '(none)'}`
          : `error ${p.error.code}: ${p.error.message}`) +
        `, latency ${p.latencyMs.toFixed(1)} ms at ${iso(p.eventTime)}  [${where(found)}]`,
    );
  }
  if (trail.labels.length === 0) lines.push('labels    none in the slice');
  for (const found of trail.labels) {
    const l = found.value;
    lines.push(
      `label     ${l.reward === null ? `truth ${l.label ?? '(none)'}` : `reward ${l.reward}`} from ${l.source}, event time ${iso(l.eventTime)}  [${where(found)}]`,
    );
  }
  for (const found of [...trail.rewards, ...trail.lateLabels]) {
    const r = found.value;
    lines.push(
      `reward    ${r.reward} to ${r.variant} (${r.resolution}), propensity ${r.propensity.toFixed(4)}, resolved ${iso(r.resolvedAt)}  [${where(found)}]`,
    );
    lines.push(
      `          decided under policy ${r.policy ?? 'unknown'}, experiment revision ${r.experimentRevision ?? 'unknown'}, snapshot version ${r.snapshotVersion ?? 'unknown'}`,
    );
  }
  for (const found of trail.deadLetters) {
    const d = found.value;
    lines.push(
      `dead      ${d.errorCode} from ${d.sourceTopic}/${d.sourcePartition}@${d.sourceOffset} by ${d.service}: ${d.reason}`,
    );
  }
  for (const u of trail.unreadable) lines.push(`unreadable ${u.topic}@${u.offset}: ${u.reason}`);
  lines.push(`outcome   ${trail.outcome}: ${trail.explanation}`);
  for (const w of trail.warnings) lines.push(`warning   ${w}`);
  for (const r of trail.retention) lines.push(`retention ${r}`);
  if (trail.retention.length === 0) lines.push('retention nothing removed within the slice');
  return lines.join('\n');
}

/** The trail as JSON: bytes as base64, everything else as on the topics. */
export function auditTrailJson(trail: AuditTrail): string {
  return JSON.stringify(
    trail,
    (_key, value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
    2,
  );
}
