// A local stand-in for the SageMaker runtime: it speaks the InvokeEndpoint wire protocol closely
// enough that the real AWS SDK (signing, serialisation, error deserialisation) runs unchanged
// against it. That keeps the adapter in `lib/model-endpoint` honest: tests and local runs go
// through exactly the code path production uses, only the URL differs.
//
// What is reproduced:
// - `POST /endpoints/{EndpointName}/invocations` with a raw body; SigV4 headers are accepted
//   and not verified (there are no real credentials locally).
// - Request headers Content-Type, Accept, X-Amzn-SageMaker-Target-Variant,
//   X-Amzn-SageMaker-Inference-Id, X-Amzn-SageMaker-Custom-Attributes.
// - Variant choice by production-variant weights unless a target variant is given.
// - Response headers Content-Type, X-Amzn-Invoked-Production-Variant, x-amzn-RequestId and
//   X-Amzn-SageMaker-Custom-Attributes.
// - Errors typed by `X-Amzn-ErrorType` with a JSON body, which the SDK turns into its
//   ValidationError / ModelError / InternalFailure classes.
// - Batches, as SageMaker containers take them (`lib/model-batch/batch-format.ts`): JSON lines,
//   CSV of several rows, or `{"instances": [...]}`. The variant's model runs on each record and
//   the outputs come back in the matching format; any other body is one record, as before.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { DynabError } from '../../lib/errors/catalogue.ts';
import {
  ANSWER_CONTENT_TYPES,
  assembleBatchAnswer,
  decodeBatchBody,
  type AnswerFormat,
  type BatchFormat,
  type Payload,
} from '../../lib/model-batch/batch-format.ts';

/** What a model sees besides the body; mirrors what SageMaker forwards to a container. */
export interface InvocationContext {
  readonly endpointName: string;
  readonly variantName: string;
  readonly accept: string | null;
  readonly customAttributes: string | null;
  readonly inferenceId: string | null;
}

/** A model may answer with bytes, or with bytes plus its own content type / custom attributes. */
export type ModelOutput =
  | Uint8Array
  | string
  | {
      readonly body: Uint8Array | string;
      readonly contentType?: string;
      readonly customAttributes?: string;
    };

export type ModelHandler = (
  body: Buffer,
  contentType: string,
  context: InvocationContext,
) => ModelOutput | Promise<ModelOutput>;

/**
 * A model that reads text: called instead of `model` for a batch entry whose text the container
 * has already decoded (a JSON string in JSON lines or `instances`), with the content type that
 * `model` would get. It must answer as `model` does for the UTF-8 bytes of that text.
 */
export type TextModelHandler = (
  text: string,
  contentType: string,
  context: InvocationContext,
) => ModelOutput | Promise<ModelOutput>;

export interface LocalVariant {
  readonly name: string;
  /** Relative weight, like a production variant's `CurrentWeight`; 0 = only when targeted. */
  readonly weight: number;
  readonly model: ModelHandler;
  /** Optional: the same model reading decoded text, which spares encoding it and decoding it again. */
  readonly textModel?: TextModelHandler;
  /** Content type of the model's answer unless the model returns its own (default application/json). */
  readonly outputContentType?: string;
}

export interface LocalEndpointDefinition {
  readonly name: string;
  readonly variants: readonly LocalVariant[];
}

export interface LocalEndpointOptions {
  readonly endpoints: readonly LocalEndpointDefinition[];
  /** Uniform [0, 1) source for weighted variant choice (default Math.random). */
  readonly random?: () => number;
  /** Largest accepted request body (default 6 MB, SageMaker's real-time limit). */
  readonly maxPayloadBytes?: number;
  /** Interface to bind (default 127.0.0.1: this server has no authentication). */
  readonly host?: string;
  /** Account id and region used in error messages and log-stream ARNs, as AWS reports them. */
  readonly accountId?: string;
  readonly region?: string;
}

export interface LocalEndpoint {
  listen(port?: number): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

/**
 * Thrown by a model to choose the status SageMaker reports as `OriginalStatusCode` (a container
 * answering 4xx/5xx). Any other thrown value is reported as a 500 from the container.
 */
export class ModelInvocationError extends Error {
  readonly statusCode: number;

  constructor(statusCode: number, message: string) {
    super(message);
    this.name = 'ModelInvocationError';
    this.statusCode = statusCode;
  }
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const DEFAULT_OUTPUT_CONTENT_TYPE = 'application/json';
// The SDK sends application/octet-stream for a blob body without ContentType; a raw client
// might send nothing, and SageMaker then forwards the same default.
const DEFAULT_INPUT_CONTENT_TYPE = 'application/octet-stream';
const INVOCATIONS_PATH = /^\/endpoints\/([^/]+)\/invocations$/;
// SageMaker's own constraints on names (EndpointName / VariantName in the API model).
const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
const MAX_NAME_LENGTH = 63;

const HEADER = {
  targetVariant: 'x-amzn-sagemaker-target-variant',
  inferenceId: 'x-amzn-sagemaker-inference-id',
  customAttributes: 'x-amzn-sagemaker-custom-attributes',
  invokedVariant: 'X-Amzn-Invoked-Production-Variant',
  customAttributesOut: 'X-Amzn-SageMaker-Custom-Attributes',
  errorType: 'X-Amzn-ErrorType',
  requestId: 'x-amzn-RequestId',
} as const;

// The namespace part after the colon is informational; the SDK keeps only what precedes it.
const ERROR_NAMESPACE = {
  ValidationError: 'http://internal.amazon.com/coral/com.amazon.coral.validate/',
  ModelError: 'http://internal.amazon.com/coral/com.amazonaws.sagemaker/',
  InternalFailure: 'http://internal.amazon.com/coral/com.amazon.coral.service/',
  UnknownOperationException: 'http://internal.amazon.com/coral/com.amazon.coral.service/',
} as const;
type ErrorType = keyof typeof ERROR_NAMESPACE;

/** Builds (does not start) a local SageMaker runtime serving the given endpoints. */
export function buildLocalEndpoint(options: LocalEndpointOptions): LocalEndpoint {
  const endpoints = indexEndpoints(options.endpoints);
  const random = options.random ?? Math.random;
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!(Number.isSafeInteger(maxPayloadBytes) && maxPayloadBytes >= 0)) {
    throw new DynabError(
      'CONFIG_INVALID',
      `maxPayloadBytes must be a non-negative integer, got ${maxPayloadBytes}`,
    );
  }
  const host = options.host ?? '127.0.0.1';
  const account = options.accountId ?? '000000000000';
  const region = options.region ?? 'us-east-1';

  const server: Server = createServer((request, response) => {
    handleRequest(request, response).catch((error: unknown) => {
      // Only reachable through a bug in this file; answer like the real service's 500.
      sendError(response, 500, 'InternalFailure', `Internal failure: ${messageOf(error)}`);
    });
  });

  async function handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    response.setHeader(HEADER.requestId, requestId);
    const path = (request.url ?? '/').split('?')[0] ?? '/';

    if (request.method === 'GET' && path === '/ping') {
      // Not part of the runtime API: a readiness probe for scripts and containers.
      request.resume();
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      return;
    }

    const body = await readBody(request, maxPayloadBytes);
    const match = request.method === 'POST' ? INVOCATIONS_PATH.exec(path) : null;
    if (match === null) {
      sendError(
        response,
        404,
        'UnknownOperationException',
        `No operation matches ${request.method ?? '?'} ${path}.`,
      );
      return;
    }

    const endpointName = decodePathSegment(match[1] ?? '');
    const variants = endpointName === null ? undefined : endpoints.get(endpointName);
    if (endpointName === null || variants === undefined) {
      sendError(
        response,
        400,
        'ValidationError',
        `Endpoint ${endpointName ?? match[1]} of account ${account} not found.`,
      );
      return;
    }
    if (body.oversize) {
      // Older front ends answered a bare 413; SageMaker now reports a typed ValidationError.
      sendError(
        response,
        400,
        'ValidationError',
        `Request ${requestId} has oversize body: ${body.length} bytes exceed the limit of ${maxPayloadBytes} bytes.`,
      );
      return;
    }

    const inferenceId = headerOf(request, HEADER.inferenceId);
    if (inferenceId !== null && !VALID_INFERENCE_ID.test(inferenceId)) {
      // SageMaker's own constraint on the header, so a client that sends any id it is given
      // fails here as it would against AWS.
      sendError(
        response,
        400,
        'ValidationError',
        `1 validation error detected: Value at 'inferenceId' failed to satisfy constraint: Member must have length less than or equal to 64 and consist of printable ASCII characters.`,
      );
      return;
    }

    const target = headerOf(request, HEADER.targetVariant);
    let variant: LocalVariant | undefined;
    if (target !== null) {
      variant = variants.find((candidate) => candidate.name === target);
      if (variant === undefined) {
        const names = variants.map((candidate) => candidate.name).join(', ');
        sendError(
          response,
          400,
          'ValidationError',
          `Target variant ${target} is not a production variant of endpoint ${endpointName} (variants: ${names}).`,
        );
        return;
      }
    } else {
      variant = chooseVariant(variants, random);
    }

    const accept = headerOf(request, 'accept');
    const requestAttributes = headerOf(request, HEADER.customAttributes);
    const context: InvocationContext = {
      endpointName,
      variantName: variant.name,
      accept,
      customAttributes: requestAttributes,
      inferenceId,
    };

    const contentType = headerOf(request, 'content-type') ?? DEFAULT_INPUT_CONTENT_TYPE;
    const decoded = decodeBatchBody(body.bytes, contentType);
    if (decoded.kind === 'malformed') {
      // The container cannot read the body: it answers 400, which SageMaker relays as a ModelError.
      sendModelError(response, {
        endpointName,
        variantName: variant.name,
        status: 400,
        message: `Malformed ${mediaTypeOf(contentType)} batch: ${decoded.reason}.`,
      });
      return;
    }
    if (decoded.kind === 'batch') {
      await answerBatch(response, {
        endpointName,
        variant,
        records: decoded.records,
        answerFormat: answerFormatOf(decoded.format, accept),
        accept,
        context,
        requestAttributes,
      });
      return;
    }

    let output: ModelOutput;
    try {
      output = await variant.model(body.bytes, contentType, context);
    } catch (error) {
      const status = error instanceof ModelInvocationError ? error.statusCode : 500;
      sendModelError(response, {
        endpointName,
        variantName: variant.name,
        status,
        message: messageOf(error),
      });
      return;
    }

    const answer = normaliseOutput(
      output,
      variant.outputContentType ?? DEFAULT_OUTPUT_CONTENT_TYPE,
    );
    if (accept !== null && !acceptsContentType(accept, answer.contentType)) {
      // A container that cannot produce an acceptable type answers 406; SageMaker relays that
      // as a ModelError.
      sendModelError(response, {
        endpointName,
        variantName: variant.name,
        status: 406,
        message: `Cannot produce ${accept}; this model answers ${answer.contentType}.`,
      });
      return;
    }

    const headers: Record<string, string | number> = {
      'Content-Type': answer.contentType,
      'Content-Length': answer.body.length,
      [HEADER.invokedVariant]: variant.name,
    };
    // SageMaker relays whatever custom attributes the container returns; these models
    // return the caller's unless they set their own, which is what most containers do.
    const attributes = answer.customAttributes ?? requestAttributes;
    if (attributes !== null) headers[HEADER.customAttributesOut] = attributes;
    response.writeHead(200, headers).end(answer.body);
  }

  /**
   * Runs the model on each record of a batch, in order, and answers in the batch's format. One
   * failing record fails the whole call, as in a real container: the caller retries record by
   * record to find it.
   */
  async function answerBatch(
    response: ServerResponse,
    batch: {
      endpointName: string;
      variant: LocalVariant;
      records: readonly Payload[];
      answerFormat: AnswerFormat | null;
      accept: string | null;
      context: InvocationContext;
      requestAttributes: string | null;
    },
  ): Promise<void> {
    const { endpointName, variant } = batch;
    const fail = (status: number, message: string): void =>
      sendModelError(response, { endpointName, variantName: variant.name, status, message });
    if (batch.answerFormat === null) {
      fail(406, `Cannot answer this batch as ${batch.accept ?? '*/*'}.`);
      return;
    }
    const outputs: Payload[] = [];
    for (const [index, record] of batch.records.entries()) {
      let output: ModelOutput;
      try {
        const text = record.text;
        output =
          text !== undefined && variant.textModel !== undefined
            ? await variant.textModel(text, record.contentType, batch.context)
            : await variant.model(toBuffer(record.body), record.contentType, batch.context);
      } catch (error) {
        const status = error instanceof ModelInvocationError ? error.statusCode : 500;
        fail(status, `record ${index + 1} of ${batch.records.length}: ${messageOf(error)}`);
        return;
      }
      outputs.push(
        normaliseOutput(output, variant.outputContentType ?? DEFAULT_OUTPUT_CONTENT_TYPE),
      );
    }
    const body = assembleBatchAnswer(batch.answerFormat, outputs);
    if (body === null) {
      fail(500, `An output of this model cannot be carried in a ${batch.answerFormat} answer.`);
      return;
    }
    const headers: Record<string, string | number> = {
      'Content-Type': ANSWER_CONTENT_TYPES[batch.answerFormat],
      'Content-Length': body.length,
      [HEADER.invokedVariant]: variant.name,
    };
    if (batch.requestAttributes !== null) {
      headers[HEADER.customAttributesOut] = batch.requestAttributes;
    }
    response.writeHead(200, headers).end(body);
  }

  function sendModelError(
    response: ServerResponse,
    failure: { endpointName: string; variantName: string; status: number; message: string },
  ): void {
    const kind = failure.status >= 500 ? 'server' : 'client';
    const logGroup = `/aws/sagemaker/Endpoints/${failure.endpointName}`;
    const message =
      `Received ${kind} error (${failure.status}) from ${failure.variantName} with message "${failure.message}". ` +
      `See https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logEventViewer:group=${logGroup} ` +
      `in account ${account} for more information.`;
    sendError(response, 424, 'ModelError', message, {
      ErrorCode: kind === 'server' ? 'SERVER_ERROR_FROM_MODEL' : 'CLIENT_ERROR_FROM_MODEL',
      LogStreamArn: `arn:aws:logs:${region}:${account}:log-group:${logGroup}`,
      OriginalMessage: failure.message,
      OriginalStatusCode: failure.status,
    });
  }

  let listening = false;
  return {
    listen(port = 0) {
      return new Promise((resolve, reject) => {
        const onError = (error: Error): void => {
          reject(
            new DynabError('CONFIG_INVALID', `cannot listen on ${host}:${port}: ${error.message}`, {
              cause: error,
            }),
          );
        };
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          listening = true;
          const bound = (server.address() as AddressInfo).port;
          resolve({ url: `http://${formatHost(host)}:${bound}`, port: bound });
        });
      });
    },
    close() {
      if (!listening) return Promise.resolve();
      listening = false;
      return new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // The SDK keeps connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
      });
    },
  };
}

/** Weighted choice among variants with positive weight, like SageMaker's traffic split. */
export function chooseVariant(
  variants: readonly LocalVariant[],
  random: () => number,
): LocalVariant {
  let total = 0;
  for (const variant of variants) total += variant.weight;
  let point = random() * total;
  let last: LocalVariant | undefined;
  for (const variant of variants) {
    if (variant.weight <= 0) continue;
    last = variant;
    if (point < variant.weight) return variant;
    point -= variant.weight;
  }
  // Rounding can leave `point` a hair above the last weight; that mass belongs to it.
  if (last === undefined)
    throw new DynabError('CONFIG_INVALID', 'no variant has a positive weight');
  return last;
}

function indexEndpoints(
  definitions: readonly LocalEndpointDefinition[],
): Map<string, readonly LocalVariant[]> {
  const endpoints = new Map<string, readonly LocalVariant[]>();
  for (const definition of definitions) {
    checkName('endpoint', definition.name);
    if (endpoints.has(definition.name)) {
      throw new DynabError('CONFIG_INVALID', `endpoint ${definition.name} is defined twice`);
    }
    const names = new Set<string>();
    let total = 0;
    for (const variant of definition.variants) {
      checkName('variant', variant.name);
      if (names.has(variant.name)) {
        throw new DynabError(
          'CONFIG_INVALID',
          `variant ${variant.name} appears twice in endpoint ${definition.name}`,
        );
      }
      names.add(variant.name);
      if (!(Number.isFinite(variant.weight) && variant.weight >= 0)) {
        throw new DynabError(
          'CONFIG_INVALID',
          `variant ${variant.name} has invalid weight ${variant.weight}`,
        );
      }
      total += variant.weight;
    }
    if (!(total > 0)) {
      throw new DynabError(
        'CONFIG_INVALID',
        `endpoint ${definition.name} needs a variant with positive weight`,
      );
    }
    endpoints.set(definition.name, [...definition.variants]);
  }
  return endpoints;
}

function checkName(kind: string, name: string): void {
  if (name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new DynabError('CONFIG_INVALID', `invalid ${kind} name ${JSON.stringify(name)}`);
  }
}

/**
 * Reads the body, keeping at most `limit` bytes. Past the limit the rest is read and dropped
 * rather than the connection cut: answering while the client is still uploading makes it see
 * a reset socket instead of the error response.
 */
function readBody(
  request: IncomingMessage,
  limit: number,
): Promise<{ bytes: Buffer; length: number; oversize: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length <= limit) chunks.push(chunk);
    });
    request.once('end', () => {
      const oversize = length > limit;
      resolve({
        bytes: oversize ? Buffer.alloc(0) : Buffer.concat(chunks, length),
        length,
        oversize,
      });
    });
    request.once('error', reject);
  });
}

function sendError(
  response: ServerResponse,
  status: number,
  type: ErrorType,
  message: string,
  fields: Record<string, string | number> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  // Both spellings: the SDK reads `message` for Error.message and `Message` for the modelled
  // member of the exception.
  const body = Buffer.from(JSON.stringify({ ...fields, message, Message: message }));
  response
    .writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': body.length,
      [HEADER.errorType]: `${type}:${ERROR_NAMESPACE[type]}`,
    })
    .end(body);
}

function normaliseOutput(
  output: ModelOutput,
  defaultContentType: string,
): { body: Buffer; contentType: string; customAttributes: string | null } {
  if (typeof output === 'string' || output instanceof Uint8Array) {
    return { body: toBuffer(output), contentType: defaultContentType, customAttributes: null };
  }
  return {
    body: toBuffer(output.body),
    contentType: output.contentType ?? defaultContentType,
    customAttributes: output.customAttributes ?? null,
  };
}

function toBuffer(value: Uint8Array | string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.isBuffer(value)
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * How a container answers a batch: JSON lines for JSON lines, predictions for instances, and for
 * CSV rows CSV unless only JSON lines are acceptable. Null when Accept admits none of those.
 */
export function answerFormatOf(format: BatchFormat, accept: string | null): AnswerFormat | null {
  const admits = (answer: AnswerFormat): boolean =>
    accept === null || acceptsContentType(accept, ANSWER_CONTENT_TYPES[answer]);
  switch (format) {
    case 'jsonlines':
      return admits('jsonlines') ? 'jsonlines' : null;
    case 'instances':
      return admits('predictions') ? 'predictions' : null;
    case 'csv':
      if (admits('csv')) return 'csv';
      return admits('jsonlines') ? 'jsonlines' : null;
  }
}

/** Whether an Accept header admits a content type (parameters and q-values ignored). */
export function acceptsContentType(accept: string, contentType: string): boolean {
  const [type = '', subtype = ''] = mediaTypeOf(contentType).split('/');
  return accept.split(',').some((entry) => {
    const range = mediaTypeOf(entry);
    if (range === '' || range === '*/*' || range === '*') return true;
    const [rangeType, rangeSubtype] = range.split('/');
    return rangeType === type && (rangeSubtype === '*' || rangeSubtype === subtype);
  });
}

function mediaTypeOf(value: string): string {
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

/** SageMaker's InferenceId: 1 to 64 printable ASCII characters, the first not a space. */
const VALID_INFERENCE_ID = /^[\x21-\x7e][\x20-\x7e]{0,63}$/;

function headerOf(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

function decodePathSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
