// The closed catalogue of dynab error codes. Every failure a service can meet maps to exactly
// one code; the stream runner reads `retriable` to decide between retry-with-backoff and the
// dead-letter topic. Adding a code means adding it here (and the catalogue test checks it).

export const ERROR_CATALOGUE = {
  MALFORMED_MESSAGE: { retriable: false, summary: 'bytes do not decode as the expected message' },
  UNKNOWN_SCHEMA: { retriable: false, summary: 'schema fingerprint is not known to this reader' },
  INVALID_FIELD: { retriable: false, summary: 'a field is missing or out of range' },
  UNKNOWN_EXPERIMENT: { retriable: false, summary: 'no such experiment is configured' },
  UNKNOWN_VARIANT: { retriable: false, summary: 'the variant is not part of the experiment' },
  PAYLOAD_TOO_LARGE: { retriable: false, summary: 'payload exceeds the configured maximum' },
  ORPHAN_LABEL: {
    retriable: false,
    summary: 'a label whose prediction never arrived within the orphan window',
  },
  MODEL_ERROR: { retriable: false, summary: 'the model container returned an error' },
  ENDPOINT_VALIDATION: { retriable: false, summary: 'the endpoint rejected the request' },
  ENDPOINT_THROTTLED: { retriable: true, summary: 'the endpoint throttled the request' },
  ENDPOINT_UNAVAILABLE: { retriable: true, summary: 'the endpoint is unavailable or timed out' },
  STORE_FAILURE: { retriable: true, summary: 'the local state store failed' },
  BROKER_UNAVAILABLE: { retriable: true, summary: 'the Kafka broker could not be reached' },
  CONFIG_INVALID: { retriable: false, summary: 'configuration is invalid' },
  INTERNAL: { retriable: false, summary: 'an unexpected internal failure' },
} as const satisfies Record<string, { retriable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class DynabError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DynabError';
    this.code = code;
    this.retriable = ERROR_CATALOGUE[code].retriable;
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, value);
}

/** Wraps anything thrown into a DynabError, keeping the original as `cause`. */
export function toDynabError(error: unknown, fallback: ErrorCode = 'INTERNAL'): DynabError {
  if (error instanceof DynabError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DynabError(fallback, message, { cause: error });
}
