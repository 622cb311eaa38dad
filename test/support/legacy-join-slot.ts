// The aggregator's join slot as versions before the binary layout wrote it: JSON with the Avro of
// each half in base64, the window expiry first. Such slots remain in existing stores and compacted
// changelogs, so the tests build them here, field for field as the old encodeSlot did, to check
// that they still decode.
import type { JoinSlot, WindowRule } from '../../services/aggregator/core/join.ts';
import type { SlotCodec } from '../../services/aggregator/partition-state.ts';

const STATE_LETTERS = { open: 'o', joined: 'j', closed: 'c', orphaned: 'x' } as const;

export function legacyJsonSlot(
  slot: JoinSlot,
  codec: SlotCodec,
  rule: WindowRule | null = null,
  expiry: number | null = null,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      ...(expiry !== null ? { x: expiry } : {}),
      s: STATE_LETTERS[slot.state],
      ...(slot.prediction !== null
        ? { p: codec.encodePrediction(slot.prediction).toString('base64') }
        : {}),
      ...(slot.label !== null ? { l: codec.encodeLabel(slot.label).toString('base64') } : {}),
      ...(slot.heldLabels !== undefined && slot.heldLabels.length > 0
        ? { hl: slot.heldLabels.map((l) => codec.encodeLabel(l).toString('base64')) }
        : {}),
      ...(slot.lateSeen ? { late: 1 } : {}),
      ...(rule !== null
        ? {
            r: {
              w: rule.attributionWindowMs,
              g: rule.graceMs,
              i: rule.implicitReward,
              ...(rule.rewardKind !== undefined ? { k: rule.rewardKind } : {}),
            },
          }
        : {}),
    }),
  );
}
