// Finds the predicted label in a model's output so the aggregator can compare it with ground
// truth. Models answer in many shapes; we read a configurable top-level field of a JSON object
// (e.g. {"label": "spam", "score": 0.97}) and otherwise record no label. Pure.

export function extractPredictedLabel(
  output: Uint8Array,
  contentType: string,
  field: string,
): string | null {
  const text = new TextDecoder().decode(output).trim();
  if (!contentType.includes('json') && !text.startsWith('{')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const value = (parsed as Record<string, unknown>)[field];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}
