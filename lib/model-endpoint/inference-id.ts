// The InferenceId sent with each InvokeEndpoint call. SageMaker's data capture records it, so a
// captured request can be traced back to its dynab request. The header accepts 1 to 64
// printable ASCII characters, the first not a space; Node refuses to send a header with
// characters outside Latin-1 at all. Request ids are chosen by producers and may be anything
// (RECORD_LIMITS allows 1 KiB of any Unicode), so an id that cannot be sent as it is is
// replaced by a digest of it, and the prediction records which id was sent.
import { createHash } from 'node:crypto';

/** SageMaker's InferenceId: length 1 to 64, printable ASCII, not starting with a space. */
const SENDABLE = /^[\x21-\x7e][\x20-\x7e]{0,63}$/;

/** Prefix of a derived id; 7 + 43 characters of digest fit the 64-character limit. */
export const DERIVED_INFERENCE_ID_PREFIX = 'sha256:';

/**
 * The request id itself when SageMaker accepts it, else `sha256:` + the unpadded base64url
 * SHA-256 of its UTF-16LE code units. Hashing the code units (not UTF-8) keeps ids that differ
 * only in a lone surrogate apart, since UTF-8 would turn every lone surrogate into U+FFFD.
 */
export function inferenceIdFor(requestId: string): string {
  if (SENDABLE.test(requestId)) return requestId;
  const digest = createHash('sha256').update(requestId, 'utf16le').digest('base64url');
  return `${DERIVED_INFERENCE_ID_PREFIX}${digest}`;
}
