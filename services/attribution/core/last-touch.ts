// Last-touch attribution: a label that names a user and an experiment but no request is credited
// to that user's latest request in the experiment at or before the label's event time, if that
// request is within the experiment's attribution window (what the SageMaker A/B sample does with
// its sticky users, but credited to a request, so the join, the dedupe and the window of the
// aggregator still apply).
//
// Order must not matter: a request may be seen after a label it should be credited with (the
// request path and the log path have different lags). So a label waits until the partition's
// request watermark (the latest request event time seen there) has passed its event time by the
// grace period; then every request up to the label's time that will ever count has been seen,
// and the choice is the same whatever order the two streams were read in.

export interface Touch {
  readonly requestId: string;
  readonly eventTime: number;
}

/** Requests remembered per user and experiment: the latest ones by event time. */
export const MAX_TOUCHES_PER_USER = 32;

/** The user's touches with `touch` added: sorted by event time then id, no repeats, bounded. */
export function addTouch(touches: readonly Touch[], touch: Touch): Touch[] {
  if (touches.some((t) => t.requestId === touch.requestId)) return [...touches];
  const next = [...touches, touch].sort(compareTouches);
  return next.slice(Math.max(0, next.length - MAX_TOUCHES_PER_USER));
}

function compareTouches(a: Touch, b: Touch): number {
  if (a.eventTime !== b.eventTime) return a.eventTime - b.eventTime;
  return a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0;
}

/**
 * The request credited with a label at `labelTime`: the latest touch at or before it, if the
 * label falls within `windowMs` of that touch (ties in time: the greatest request id, so the
 * choice is deterministic). Null when there is none.
 */
export function creditedTouch(
  touches: readonly Touch[],
  labelTime: number,
  windowMs: number,
): Touch | null {
  let best: Touch | null = null;
  for (const touch of touches) {
    if (touch.eventTime > labelTime) continue;
    if (best === null || compareTouches(touch, best) > 0) best = touch;
  }
  if (best === null || labelTime - best.eventTime > windowMs) return null;
  return best;
}

/** A waiting label can be decided once the request watermark is past its time by the grace. */
export function isDecidable(labelTime: number, watermark: number, graceMs: number): boolean {
  return watermark >= labelTime + graceMs;
}
