// ModelEndpoint backed by the SageMaker runtime InvokeEndpoint API, through the AWS SDK. This is
// the only module that imports the SDK, so SDK exception classes never leak past it: every
// failure leaves as a DynabError whose `cause` is the SDK's error.

import {
  InvokeEndpointCommand,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeClient,
  SageMakerRuntimeServiceException,
  ValidationError,
  type InvokeEndpointCommandInput,
} from '@aws-sdk/client-sagemaker-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import { DynabError } from '../errors/catalogue.ts';
import type { InvokeInput, InvokeOutput, ModelEndpoint } from './model-endpoint.ts';

export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SageMakerEndpointOptions {
  readonly region: string;
  /** Overrides the AWS endpoint, e.g. the local endpoint server; then dummy credentials apply. */
  readonly endpointUrl?: string;
  /** Static credentials; without them, the SDK's default provider chain (real AWS only). */
  readonly credentials?: StaticCredentials;
  /** Whole-request timeout per attempt, in ms (default 10 000). */
  readonly timeoutMs?: number;
  /** Attempts including the first, for the SDK's own retries of retriable failures (default 3). */
  readonly maxAttempts?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_ATTEMPTS = 3;
// The local server does not verify signatures, but the SDK will not sign (and so will not send)
// without some credentials, and must not go looking for real ones on a developer's machine.
const LOCAL_CREDENTIALS: StaticCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);
const THROTTLING_NAMES = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException']);
const UNAVAILABLE_NAMES = new Set([
  'ServiceUnavailable',
  'InternalFailure',
  'InternalDependencyException',
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const CREDENTIAL_NAMES = new Set([
  'CredentialsProviderError',
  'ExpiredTokenException',
  'UnrecognizedClientException',
]);

export class SageMakerEndpoint implements ModelEndpoint {
  readonly #client: SageMakerRuntimeClient;

  constructor(client: SageMakerRuntimeClient) {
    this.#client = client;
  }

  async invoke(input: InvokeInput, signal?: AbortSignal): Promise<InvokeOutput> {
    const command = new InvokeEndpointCommand(toCommandInput(input));
    try {
      const output = await this.#client.send(
        command,
        signal === undefined ? {} : { abortSignal: signal },
      );
      const result: InvokeOutput = {
        invokedVariant: output.InvokedProductionVariant ?? null,
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- typed as always set, but the SDK returns null for an empty response body
        body: output.Body ?? new Uint8Array(0),
        contentType: output.ContentType ?? 'application/octet-stream',
      };
      return output.CustomAttributes === undefined
        ? result
        : { ...result, customAttributes: output.CustomAttributes };
    } catch (error) {
      throw mapSageMakerError(error, input);
    }
  }

  close(): void {
    this.#client.destroy();
  }
}

/** A SageMaker-backed endpoint client with explicit timeouts and retry budget. */
export function createSageMakerEndpoint(options: SageMakerEndpointOptions): SageMakerEndpoint {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new DynabError('CONFIG_INVALID', `timeoutMs must be positive, got ${timeoutMs}`);
  }
  if (!(Number.isSafeInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new DynabError(
      'CONFIG_INVALID',
      `maxAttempts must be an integer >= 1, got ${maxAttempts}`,
    );
  }
  const credentials =
    options.credentials ?? (options.endpointUrl === undefined ? undefined : LOCAL_CREDENTIALS);
  const client = new SageMakerRuntimeClient({
    region: options.region,
    maxAttempts,
    ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
    ...(credentials === undefined ? {} : { credentials: { ...credentials } }),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      // Without this the handler only logs a warning when requestTimeout passes.
      throwOnRequestTimeout: true,
    }),
  });
  return new SageMakerEndpoint(client);
}

/** Translates whatever the SDK threw into the matching DynabError, keeping it as `cause`. */
export function mapSageMakerError(
  error: unknown,
  input: Pick<InvokeInput, 'endpointName' | 'targetVariant'>,
): DynabError {
  if (error instanceof DynabError) return error;
  const where =
    input.targetVariant === null
      ? input.endpointName
      : `${input.endpointName}/${input.targetVariant}`;
  const detail = error instanceof Error ? error.message : String(error);

  if (error instanceof ModelError) {
    // OriginalStatusCode/OriginalMessage are what the container itself said; keep them visible.
    const original = [
      error.OriginalStatusCode === undefined ? null : `original status ${error.OriginalStatusCode}`,
      error.OriginalMessage === undefined ? null : `original message: ${error.OriginalMessage}`,
    ].filter((part) => part !== null);
    const suffix = original.length === 0 ? '' : ` (${original.join('; ')})`;
    return new DynabError('MODEL_ERROR', `model of ${where} failed${suffix}: ${detail}`, {
      cause: error,
    });
  }
  if (error instanceof ValidationError) {
    return new DynabError('ENDPOINT_VALIDATION', `${where} rejected the request: ${detail}`, {
      cause: error,
    });
  }
  if (error instanceof ModelNotReadyException) {
    // A 429 that means "still loading", not "slow down"; either way it passes with time.
    return new DynabError('ENDPOINT_UNAVAILABLE', `model of ${where} is not ready: ${detail}`, {
      cause: error,
    });
  }

  const name = error instanceof Error ? error.name : '';
  const status = httpStatusOf(error);
  if (THROTTLING_NAMES.has(name) || status === 429) {
    return new DynabError('ENDPOINT_THROTTLED', `${where} throttled the request: ${detail}`, {
      cause: error,
    });
  }
  if (
    UNAVAILABLE_NAMES.has(name) ||
    (status !== undefined && status >= 500) ||
    NETWORK_ERROR_CODES.has(errorCodeOf(error) ?? '')
  ) {
    return new DynabError('ENDPOINT_UNAVAILABLE', `${where} is unavailable: ${detail}`, {
      cause: error,
    });
  }
  if (CREDENTIAL_NAMES.has(name)) {
    return new DynabError('CONFIG_INVALID', `no usable AWS credentials for ${where}: ${detail}`, {
      cause: error,
    });
  }
  if (
    error instanceof SageMakerRuntimeServiceException ||
    (status !== undefined && status >= 400)
  ) {
    // Any other 4xx (access denied, 413 from older front ends, ...) will fail the same way again.
    return new DynabError('ENDPOINT_VALIDATION', `${where} rejected the request: ${detail}`, {
      cause: error,
    });
  }
  return new DynabError('INTERNAL', `invoking ${where} failed: ${detail}`, { cause: error });
}

function toCommandInput(input: InvokeInput): InvokeEndpointCommandInput {
  return {
    EndpointName: input.endpointName,
    Body: input.body,
    ContentType: input.contentType,
    ...(input.targetVariant === null ? {} : { TargetVariant: input.targetVariant }),
    ...(input.accept === undefined ? {} : { Accept: input.accept }),
    ...(input.inferenceId === undefined ? {} : { InferenceId: input.inferenceId }),
    ...(input.customAttributes === undefined ? {} : { CustomAttributes: input.customAttributes }),
  };
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  const status = metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

function errorCodeOf(error: unknown): string | undefined {
  // Node network errors carry `code`; the SDK sometimes wraps them, so follow `cause` a little.
  for (
    let current: unknown = error, depth = 0;
    depth < 3 && typeof current === 'object' && current !== null;
    depth += 1
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
