import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  InternalFailure,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterEach, describe, expect, it } from 'vitest';

import { DynabError, type ErrorCode } from '../../../lib/errors/catalogue.ts';
import {
  createSageMakerEndpoint,
  mapSageMakerError,
  type SageMakerEndpointOptions,
} from '../../../lib/model-endpoint/sagemaker-endpoint.ts';

const INPUT = { endpointName: 'ep', targetVariant: null } as const;
const METADATA = { httpStatusCode: 400 };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Canned {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

/** A bare HTTP server answering every request with one canned response, recording headers. */
async function startCannedServer(
  canned: Canned,
): Promise<{ url: string; requests: IncomingHttpHeaders[] }> {
  const requests: IncomingHttpHeaders[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(request.headers);
    request.resume();
    request.on('end', () => {
      response
        .writeHead(canned.status, { 'Content-Type': 'application/json', ...canned.headers })
        .end(canned.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function connect(options: Partial<SageMakerEndpointOptions> & { endpointUrl: string }) {
  const endpoint = createSageMakerEndpoint({
    region: 'eu-west-1',
    maxAttempts: 1,
    timeoutMs: 5_000,
    ...options,
  });
  cleanups.push(() => endpoint.close());
  return endpoint;
}

async function failureOf(promise: Promise<unknown>): Promise<DynabError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DynabError);
    return error as DynabError;
  }
  return expect.unreachable('expected the invocation to fail');
}

const INVOKE = {
  endpointName: 'ep',
  targetVariant: 'v1',
  body: new Uint8Array([1]),
  contentType: 'text/plain',
} as const;

describe('createSageMakerEndpoint against a stub of the AWS wire format', () => {
  it('sends the InvokeEndpoint request signed with local credentials and returns the output', async () => {
    const { url, requests } = await startCannedServer({
      status: 200,
      headers: {
        'X-Amzn-Invoked-Production-Variant': 'v1',
        'X-Amzn-SageMaker-Custom-Attributes': 'c=1',
      },
      body: '{"ok":true}',
    });
    const output = await connect({ endpointUrl: url }).invoke({
      ...INVOKE,
      accept: 'application/json',
      inferenceId: 'id-1',
      customAttributes: 'c=1',
    });
    expect(output).toEqual({
      invokedVariant: 'v1',
      body: expect.any(Uint8Array) as unknown,
      contentType: 'application/json',
      customAttributes: 'c=1',
    });
    expect(Buffer.from(output.body).toString('utf8')).toBe('{"ok":true}');
    const [headers] = requests;
    expect(headers?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/eu-west-1\/sagemaker\/aws4_request/,
    );
    expect(headers?.['x-amzn-sagemaker-target-variant']).toBe('v1');
    expect(headers?.['x-amzn-sagemaker-inference-id']).toBe('id-1');
    expect(headers?.['x-amzn-sagemaker-custom-attributes']).toBe('c=1');
    expect(headers?.accept).toBe('application/json');
    expect(headers?.['content-type']).toBe('text/plain');
  });

  it('signs with the given credentials, including a session token', async () => {
    const { url, requests } = await startCannedServer({ status: 200, body: '{}' });
    const output = await connect({
      endpointUrl: url,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    }).invoke({ ...INVOKE, targetVariant: null });
    expect(output.invokedVariant).toBeNull();
    expect(output.customAttributes).toBeUndefined();
    expect(requests[0]?.authorization).toContain('Credential=AKIDEXAMPLE/');
    expect(requests[0]?.['x-amz-security-token']).toBe('token');
  });

  it.each<[string, Canned, ErrorCode, new (...args: never[]) => unknown]>([
    [
      'ModelError',
      {
        status: 424,
        headers: {
          'X-Amzn-ErrorType':
            'ModelError:http://internal.amazon.com/coral/com.amazonaws.sagemaker/',
        },
        body: JSON.stringify({
          OriginalStatusCode: 503,
          OriginalMessage: 'overloaded',
          LogStreamArn: 'arn:aws:logs:eu-west-1:1:log-group:/aws/sagemaker/Endpoints/ep',
          Message: 'Received server error (503) from v1 with message "overloaded".',
        }),
      },
      'MODEL_ERROR',
      ModelError,
    ],
    [
      'ValidationError',
      {
        status: 400,
        headers: {
          'X-Amzn-ErrorType':
            'ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/',
        },
        body: '{"message":"Endpoint ep of account 1 not found."}',
      },
      'ENDPOINT_VALIDATION',
      ValidationError,
    ],
    [
      'ThrottlingException',
      {
        status: 400,
        headers: {
          'X-Amzn-ErrorType':
            'ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/',
        },
        body: '{"message":"Rate exceeded"}',
      },
      'ENDPOINT_THROTTLED',
      SageMakerRuntimeServiceException,
    ],
    [
      'a bare 429',
      { status: 429, body: '{}' },
      'ENDPOINT_THROTTLED',
      SageMakerRuntimeServiceException,
    ],
    [
      'ServiceUnavailable',
      {
        status: 503,
        headers: { 'X-Amzn-ErrorType': 'ServiceUnavailable' },
        body: '{"message":"try later"}',
      },
      'ENDPOINT_UNAVAILABLE',
      ServiceUnavailable,
    ],
    [
      'InternalFailure',
      {
        status: 500,
        headers: { 'X-Amzn-ErrorType': 'InternalFailure' },
        body: '{"message":"oops"}',
      },
      'ENDPOINT_UNAVAILABLE',
      InternalFailure,
    ],
    // A proxy's non-JSON 502 page makes the SDK throw a SyntaxError carrying $metadata.
    [
      'a bare 502 with an HTML body',
      { status: 502, body: '<html>Bad Gateway</html>' },
      'ENDPOINT_UNAVAILABLE',
      Error,
    ],
    [
      'a bare 413 (older front ends)',
      { status: 413, body: '{"message":"HTTP content length exceeded 5246976 bytes."}' },
      'ENDPOINT_VALIDATION',
      SageMakerRuntimeServiceException,
    ],
  ])(
    'maps %s to the right code, keeping the SDK exception as cause',
    async (_, canned, code, exceptionClass) => {
      const { url } = await startCannedServer(canned);
      const failure = await failureOf(connect({ endpointUrl: url }).invoke(INVOKE));
      expect(failure.code).toBe(code);
      expect(failure.cause).toBeInstanceOf(exceptionClass);
      expect(failure.message).toContain('ep/v1');
    },
  );

  it('keeps the container status and message of a ModelError in the message', async () => {
    const { url } = await startCannedServer({
      status: 424,
      headers: { 'X-Amzn-ErrorType': 'ModelError' },
      body: JSON.stringify({
        OriginalStatusCode: 400,
        OriginalMessage: 'bad feature',
        Message: 'Received client error',
      }),
    });
    const failure = await failureOf(connect({ endpointUrl: url }).invoke(INVOKE));
    expect(failure.message).toContain('original status 400');
    expect(failure.message).toContain('original message: bad feature');
  });

  it('refuses invalid timeouts and attempt counts', () => {
    expect(() => createSageMakerEndpoint({ region: 'eu-west-1', timeoutMs: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as DynabError,
    );
    expect(() => createSageMakerEndpoint({ region: 'eu-west-1', maxAttempts: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as DynabError,
    );
  });
});

describe('mapSageMakerError', () => {
  const network = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });

  it.each<[string, unknown, ErrorCode]>([
    [
      'ModelError',
      new ModelError({ $metadata: METADATA, message: 'm', OriginalStatusCode: 500 }),
      'MODEL_ERROR',
    ],
    [
      'ValidationError',
      new ValidationError({ $metadata: METADATA, message: 'v' }),
      'ENDPOINT_VALIDATION',
    ],
    [
      'ModelNotReadyException',
      new ModelNotReadyException({ $metadata: { httpStatusCode: 429 }, message: 'n' }),
      'ENDPOINT_UNAVAILABLE',
    ],
    [
      'ServiceUnavailable',
      new ServiceUnavailable({ $metadata: { httpStatusCode: 503 }, message: 's' }),
      'ENDPOINT_UNAVAILABLE',
    ],
    [
      'InternalFailure',
      new InternalFailure({ $metadata: { httpStatusCode: 500 }, message: 'i' }),
      'ENDPOINT_UNAVAILABLE',
    ],
    [
      'a throttling name',
      Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
      'ENDPOINT_THROTTLED',
    ],
    [
      'a 429 status',
      Object.assign(new Error('x'), { $metadata: { httpStatusCode: 429 } }),
      'ENDPOINT_THROTTLED',
    ],
    [
      'a 504 status',
      Object.assign(new Error('x'), { $metadata: { httpStatusCode: 504 } }),
      'ENDPOINT_UNAVAILABLE',
    ],
    [
      'a 403 status',
      Object.assign(new Error('x'), { $metadata: { httpStatusCode: 403 } }),
      'ENDPOINT_VALIDATION',
    ],
    ['ECONNREFUSED', network('ECONNREFUSED'), 'ENDPOINT_UNAVAILABLE'],
    ['ECONNRESET', network('ECONNRESET'), 'ENDPOINT_UNAVAILABLE'],
    [
      'a wrapped ENOTFOUND',
      new Error('outer', { cause: network('ENOTFOUND') }),
      'ENDPOINT_UNAVAILABLE',
    ],
    [
      'a TimeoutError',
      Object.assign(new Error('t'), { name: 'TimeoutError' }),
      'ENDPOINT_UNAVAILABLE',
    ],
    [
      'an AbortError',
      Object.assign(new Error('a'), { name: 'AbortError' }),
      'ENDPOINT_UNAVAILABLE',
    ],
    [
      'missing credentials',
      Object.assign(new Error('c'), { name: 'CredentialsProviderError' }),
      'CONFIG_INVALID',
    ],
    ['anything else', new TypeError('bug'), 'INTERNAL'],
    ['a non-error', 'weird', 'INTERNAL'],
  ])('maps %s', (_, error, code) => {
    const mapped = mapSageMakerError(error, INPUT);
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toBe(error);
    expect(mapped.message).toContain('ep');
  });

  it('passes DynabErrors through unchanged', () => {
    const error = new DynabError('INVALID_FIELD', 'x');
    expect(mapSageMakerError(error, INPUT)).toBe(error);
  });
});
