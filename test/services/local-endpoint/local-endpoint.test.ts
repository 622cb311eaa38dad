// Exercises the local endpoint through the real AWS SDK, via the ModelEndpoint adapter, so the
// wire format (headers, error typing) is checked by the same code that talks to AWS.

import { createServer } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { DynabError } from '../../../lib/errors/catalogue.ts';
import type { InvokeInput, ModelEndpoint } from '../../../lib/model-endpoint/model-endpoint.ts';
import { createSageMakerEndpoint } from '../../../lib/model-endpoint/sagemaker-endpoint.ts';
import {
  acceptsContentType,
  buildLocalEndpoint,
  chooseVariant,
  DEFAULT_MAX_PAYLOAD_BYTES,
  ModelInvocationError,
  type InvocationContext,
  type LocalEndpointOptions,
  type LocalVariant,
} from '../../../services/local-endpoint/local-endpoint.ts';
import { buildSpamEndpointVariants } from '../../../services/local-endpoint/spam-models.ts';

/** Small seeded PRNG (mulberry32) so frequency tests are reproducible. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startEndpoint(options: LocalEndpointOptions): Promise<string> {
  const endpoint = buildLocalEndpoint(options);
  const { url } = await endpoint.listen();
  cleanups.push(() => endpoint.close());
  return url;
}

function connect(url: string, timeoutMs = 5_000): ModelEndpoint {
  const client = createSageMakerEndpoint({
    region: 'us-east-1',
    endpointUrl: url,
    maxAttempts: 1,
    timeoutMs,
  });
  cleanups.push(() => client.close());
  return client;
}

function echoVariant(name: string, weight: number, seen: InvocationContext[] = []): LocalVariant {
  return {
    name,
    weight,
    model: (body, contentType, context) => {
      seen.push(context);
      return Buffer.from(
        JSON.stringify({ variant: name, body: body.toString('utf8'), contentType }),
      );
    },
  };
}

function request(endpointName: string, overrides: Partial<InvokeInput> = {}): InvokeInput {
  return {
    endpointName,
    targetVariant: null,
    body: Buffer.from('hello'),
    contentType: 'text/plain',
    ...overrides,
  };
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

function decode(body: Uint8Array): Record<string, unknown> {
  return JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, unknown>;
}

describe('successful invocations', () => {
  it('honours the target variant, reports it, and passes headers through to the model', async () => {
    const seen: InvocationContext[] = [];
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [echoVariant('A', 1, seen), echoVariant('B', 0, seen)] }],
    });
    const endpoint = connect(url);

    const output = await endpoint.invoke(
      request('ep', {
        targetVariant: 'B',
        body: Buffer.from('mail text'),
        contentType: 'text/plain; charset=utf-8',
        accept: 'application/json',
        inferenceId: 'inference-42',
        customAttributes: 'trace=abc',
      }),
    );

    expect(output.invokedVariant).toBe('B');
    expect(output.contentType).toBe('application/json');
    expect(output.customAttributes).toBe('trace=abc');
    expect(decode(output.body)).toEqual({
      variant: 'B',
      body: 'mail text',
      contentType: 'text/plain; charset=utf-8',
    });
    expect(seen).toEqual([
      {
        endpointName: 'ep',
        variantName: 'B',
        accept: 'application/json',
        customAttributes: 'trace=abc',
        inferenceId: 'inference-42',
      },
    ]);
  });

  it('reports custom attributes set by the model, and none when neither side sets them', async () => {
    const url = await startEndpoint({
      endpoints: [
        {
          name: 'ep',
          variants: [
            {
              name: 'own',
              weight: 1,
              model: () => ({ body: 'x', contentType: 'text/csv', customAttributes: 'model=v2' }),
            },
            echoVariant('echo', 1),
          ],
        },
      ],
    });
    const endpoint = connect(url);
    const own = await endpoint.invoke(
      request('ep', { targetVariant: 'own', customAttributes: 'trace=1' }),
    );
    expect(own.customAttributes).toBe('model=v2');
    expect(own.contentType).toBe('text/csv');
    expect(Buffer.from(own.body).toString('utf8')).toBe('x');
    const plain = await endpoint.invoke(request('ep', { targetVariant: 'echo' }));
    expect(plain.customAttributes).toBeUndefined();
  });

  it('splits untargeted traffic by weight (chi-square), never to a zero-weight variant', async () => {
    const weights = { A: 1, B: 2, C: 3, Z: 0 } as const;
    const url = await startEndpoint({
      endpoints: [
        {
          name: 'ep',
          variants: Object.entries(weights).map(([name, weight]) => echoVariant(name, weight)),
        },
      ],
      random: seededRandom(7),
    });
    const endpoint = connect(url);

    const total = 600;
    const counts = new Map<string, number>();
    for (let batch = 0; batch < total / 50; batch += 1) {
      const outputs = await Promise.all(
        Array.from({ length: 50 }, () => endpoint.invoke(request('ep'))),
      );
      for (const output of outputs)
        counts.set(
          output.invokedVariant ?? 'none',
          (counts.get(output.invokedVariant ?? 'none') ?? 0) + 1,
        );
    }

    expect(counts.get('Z')).toBeUndefined();
    expect([...counts.values()].reduce((sum, count) => sum + count, 0)).toBe(total);
    let chiSquare = 0;
    for (const [name, weight] of [
      ['A', 1],
      ['B', 2],
      ['C', 3],
    ] as const) {
      const expected = (total * weight) / 6;
      chiSquare += ((counts.get(name) ?? 0) - expected) ** 2 / expected;
    }
    // Two degrees of freedom; 13.8 is the p = 0.001 critical value.
    expect(chiSquare).toBeLessThan(13.8);
  });

  it('serves trained spam models end to end', async () => {
    const train = [
      { text: 'Subject: win free money\n\nclaim your free prize now', label: 'spam' as const },
      { text: 'Subject: re: agenda\n\nmeeting tomorrow', label: 'ham' as const },
    ];
    const url = await startEndpoint({
      endpoints: [{ name: 'spam-filter', variants: buildSpamEndpointVariants(train) }],
    });
    const output = await connect(url).invoke(
      request('spam-filter', {
        targetVariant: 'challenger',
        body: Buffer.from('Subject: free money\n\nwin a prize'),
      }),
    );
    expect(output.invokedVariant).toBe('challenger');
    expect(decode(output.body)).toMatchObject({ label: 'spam', model: 'challenger' });
  });
});

describe('batches', () => {
  /** Answers what it was given, so each answer shows which record reached the model, and how. */
  function recordEcho(
    name: string,
    seen: { body: string; contentType: string }[] = [],
  ): LocalVariant {
    return {
      name,
      weight: 1,
      model: (body, contentType) => {
        seen.push({ body: body.toString('utf8'), contentType });
        if (body.toString('utf8').includes('poison'))
          throw new ModelInvocationError(422, 'poisoned');
        return JSON.stringify({ got: body.toString('utf8'), as: contentType });
      },
    };
  }

  async function batchEndpoint(
    seen?: { body: string; contentType: string }[],
  ): Promise<ModelEndpoint> {
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [recordEcho('A', seen)] }],
    });
    return connect(url);
  }

  const lines = (body: Uint8Array): unknown[] =>
    Buffer.from(body)
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown);

  it('runs the model on each JSON line and answers JSON lines, in order', async () => {
    const seen: { body: string; contentType: string }[] = [];
    const endpoint = await batchEndpoint(seen);
    const output = await endpoint.invoke(
      request('ep', {
        body: Buffer.from('"first\\nmail, with \\"quotes\\""\n{"text":"second"}\n[1,2]\n'),
        contentType: 'application/jsonlines',
        accept: 'application/jsonlines',
      }),
    );
    expect(output.invokedVariant).toBe('A');
    expect(output.contentType).toBe('application/jsonlines');
    expect(seen).toEqual([
      { body: 'first\nmail, with "quotes"', contentType: 'text/plain; charset=utf-8' },
      { body: '{"text":"second"}', contentType: 'application/json' },
      { body: '[1,2]', contentType: 'application/json' },
    ]);
    expect(lines(output.body)).toEqual([
      { got: 'first\nmail, with "quotes"', as: 'text/plain; charset=utf-8' },
      { got: '{"text":"second"}', as: 'application/json' },
      { got: '[1,2]', as: 'application/json' },
    ]);
  });

  it('answers {"instances": [...]} with {"predictions": [...]}', async () => {
    const endpoint = await batchEndpoint();
    const output = await endpoint.invoke(
      request('ep', {
        body: Buffer.from(JSON.stringify({ instances: ['a\nb', { text: 'c' }] })),
        contentType: 'application/json',
      }),
    );
    expect(output.contentType).toBe('application/json');
    expect(decode(output.body)).toEqual({
      predictions: [
        { got: 'a\nb', as: 'text/plain; charset=utf-8' },
        { got: '{"text":"c"}', as: 'application/json' },
      ],
    });
  });

  it('answers CSV rows with CSV rows, or with JSON lines when asked to', async () => {
    const seen: { body: string; contentType: string }[] = [];
    const endpoint = await batchEndpoint(seen);
    const body = Buffer.from('"mail one,\nwith ""quotes"""\r\n1,2,3\n');
    const csv = await endpoint.invoke(
      request('ep', { body, contentType: 'text/csv', accept: 'text/csv' }),
    );
    expect(csv.contentType).toBe('text/csv');
    expect(seen.map((record) => record.body)).toEqual(['"mail one,\nwith ""quotes"""', '1,2,3']);
    // Each JSON output is one quoted field of its row.
    expect(Buffer.from(csv.body).toString('utf8')).toBe(
      '"{""got"":""\\""mail one,\\nwith \\""\\""quotes\\""\\""\\"""",""as"":""text/csv""}"\n' +
        '"{""got"":""1,2,3"",""as"":""text/csv""}"\n',
    );
    const jsonLines = await endpoint.invoke(
      request('ep', { body, contentType: 'text/csv', accept: 'application/jsonlines' }),
    );
    expect(jsonLines.contentType).toBe('application/jsonlines');
    expect(lines(jsonLines.body)).toEqual([
      { got: '"mail one,\nwith ""quotes"""', as: 'text/csv' },
      { got: '1,2,3', as: 'text/csv' },
    ]);
  });

  it('keeps single records as they were: text with newlines, JSON, one CSV row', async () => {
    const seen: { body: string; contentType: string }[] = [];
    const endpoint = await batchEndpoint(seen);
    const single = [
      { body: 'line one\nline two\n', contentType: 'text/plain' },
      { body: '{"instances": "not a list"}', contentType: 'application/json' },
      { body: 'a,b,c\n', contentType: 'text/csv' },
    ];
    for (const record of single) {
      const output = await endpoint.invoke(
        request('ep', { body: Buffer.from(record.body), contentType: record.contentType }),
      );
      expect(output.contentType).toBe('application/json');
      expect(decode(output.body)).toEqual({ got: record.body, as: record.contentType });
    }
    expect(seen).toEqual(single);
  });

  it('fails the whole call with a ModelError naming the record when one record fails', async () => {
    const endpoint = await batchEndpoint();
    const failure = await failureOf(
      endpoint.invoke(
        request('ep', {
          body: Buffer.from('"fine"\n"poison"\n"fine too"\n'),
          contentType: 'application/jsonlines',
        }),
      ),
    );
    expect(failure.code).toBe('MODEL_ERROR');
    expect(failure.cause).toMatchObject({
      OriginalStatusCode: 422,
      OriginalMessage: 'record 2 of 3: poisoned',
    });
  });

  it('reports a malformed batch as the container would: a 400 ModelError', async () => {
    const endpoint = await batchEndpoint();
    const failure = await failureOf(
      endpoint.invoke(
        request('ep', {
          body: Buffer.from('{}\nnot json\n'),
          contentType: 'application/jsonlines',
        }),
      ),
    );
    expect(failure.code).toBe('MODEL_ERROR');
    expect(failure.cause).toMatchObject({ OriginalStatusCode: 400 });
    expect(failure.message).toContain('line 2 is not JSON');
  });

  it('answers a batch whose Accept it cannot produce with a 406 ModelError', async () => {
    const endpoint = await batchEndpoint();
    const failure = await failureOf(
      endpoint.invoke(
        request('ep', {
          body: Buffer.from('"a"\n"b"\n'),
          contentType: 'application/jsonlines',
          accept: 'text/csv',
        }),
      ),
    );
    expect(failure.cause).toMatchObject({ OriginalStatusCode: 406 });
  });

  it('gives the spam models the same answers in every batch format as one by one', async () => {
    const train = [
      { text: 'Subject: win free money\n\nclaim your free prize now', label: 'spam' as const },
      { text: 'Subject: re: agenda\n\nmeeting tomorrow, "room 4"', label: 'ham' as const },
      { text: 'Subject: cheap pills\n\nfree offer, act now', label: 'spam' as const },
      { text: 'Subject: lunch\n\nsee you at noon', label: 'ham' as const },
    ];
    const url = await startEndpoint({
      endpoints: [{ name: 'spam-filter', variants: buildSpamEndpointVariants(train) }],
    });
    const endpoint = connect(url);
    const mails = [
      'Subject: free money\n\nwin a "prize", now',
      'Subject: agenda\r\n\r\nmeeting at noon,\nroom 4',
      'From: a@b\nSubject: offer\n\ncheap, cheap pills',
    ];
    const singles = await Promise.all(
      mails.map(async (mail) =>
        decode(
          (
            await endpoint.invoke(
              request('spam-filter', { targetVariant: 'challenger', body: Buffer.from(mail) }),
            )
          ).body,
        ),
      ),
    );
    const quote = (mail: string): string => `"${mail.replaceAll('"', '""')}"`;
    const bodies = [
      {
        contentType: 'application/jsonlines',
        body: mails.map((m) => JSON.stringify(m)).join('\n'),
      },
      { contentType: 'application/json', body: JSON.stringify({ instances: mails }) },
      { contentType: 'text/csv', body: `${mails.map(quote).join('\r\n')}\r\n` },
    ];
    for (const batch of bodies) {
      const output = await endpoint.invoke(
        request('spam-filter', {
          targetVariant: 'challenger',
          body: Buffer.from(batch.body),
          contentType: batch.contentType,
          accept:
            batch.contentType === 'application/json' ? 'application/json' : 'application/jsonlines',
        }),
      );
      const answers =
        batch.contentType === 'application/json'
          ? (decode(output.body)['predictions'] as unknown[])
          : lines(output.body);
      expect(answers).toEqual(singles);
    }
  });
});

describe('errors, as the SDK deserialises them', () => {
  it('maps an unknown endpoint to ENDPOINT_VALIDATION', async () => {
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [echoVariant('A', 1)] }],
      accountId: '123456789012',
    });
    const failure = await failureOf(connect(url).invoke(request('missing')));
    expect(failure.code).toBe('ENDPOINT_VALIDATION');
    expect(failure.retriable).toBe(false);
    expect(failure.message).toContain('Endpoint missing of account 123456789012 not found.');
    expect(failure.cause).toMatchObject({
      name: 'ValidationError',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('maps an unknown target variant to ENDPOINT_VALIDATION', async () => {
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [echoVariant('A', 1)] }],
    });
    const failure = await failureOf(connect(url).invoke(request('ep', { targetVariant: 'Nope' })));
    expect(failure.code).toBe('ENDPOINT_VALIDATION');
    expect(failure.message).toContain('Nope');
  });

  it('maps a throwing model to MODEL_ERROR with the container status and message', async () => {
    const url = await startEndpoint({
      endpoints: [
        {
          name: 'ep',
          variants: [
            {
              name: 'crash',
              weight: 1,
              model: () => {
                throw new Error('boom');
              },
            },
            {
              name: 'reject',
              weight: 1,
              model: () => Promise.reject(new ModelInvocationError(400, 'bad input')),
            },
          ],
        },
      ],
    });
    const endpoint = connect(url);

    const crash = await failureOf(endpoint.invoke(request('ep', { targetVariant: 'crash' })));
    expect(crash.code).toBe('MODEL_ERROR');
    expect(crash.message).toContain('original status 500');
    expect(crash.message).toContain('original message: boom');
    expect(crash.cause).toMatchObject({
      name: 'ModelError',
      OriginalStatusCode: 500,
      OriginalMessage: 'boom',
      LogStreamArn: 'arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/ep',
      $metadata: { httpStatusCode: 424 },
    });

    const reject = await failureOf(endpoint.invoke(request('ep', { targetVariant: 'reject' })));
    expect(reject.code).toBe('MODEL_ERROR');
    expect(reject.cause).toMatchObject({ OriginalStatusCode: 400, OriginalMessage: 'bad input' });
    expect(reject.message).toContain('Received client error (400) from reject');
  });

  it('answers an unacceptable Accept with a 406 ModelError, and accepts matching ranges', async () => {
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [echoVariant('A', 1)] }],
    });
    const endpoint = connect(url);
    const failure = await failureOf(endpoint.invoke(request('ep', { accept: 'text/csv' })));
    expect(failure.code).toBe('MODEL_ERROR');
    expect(failure.cause).toMatchObject({ OriginalStatusCode: 406 });
    const output = await endpoint.invoke(
      request('ep', { accept: 'text/csv, application/*;q=0.5' }),
    );
    expect(output.invokedVariant).toBe('A');
  });

  it('rejects a payload over the configured limit with ENDPOINT_VALIDATION', async () => {
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [echoVariant('A', 1)] }],
      maxPayloadBytes: 1024,
    });
    const endpoint = connect(url);
    await expect(
      endpoint.invoke(request('ep', { body: Buffer.alloc(1024, 0x61) })),
    ).resolves.toMatchObject({ invokedVariant: 'A' });
    const failure = await failureOf(
      endpoint.invoke(request('ep', { body: Buffer.alloc(1025, 0x61) })),
    );
    expect(failure.code).toBe('ENDPOINT_VALIDATION');
    expect(failure.message).toContain('oversize body');
  });

  it('applies the 6 MB SageMaker limit by default', async () => {
    let received = 0;
    const url = await startEndpoint({
      endpoints: [
        {
          name: 'ep',
          variants: [{ name: 'A', weight: 1, model: (body) => ((received = body.length), '{}') }],
        },
      ],
    });
    const endpoint = connect(url);
    await endpoint.invoke(request('ep', { body: Buffer.alloc(DEFAULT_MAX_PAYLOAD_BYTES) }));
    expect(received).toBe(6 * 1024 * 1024);
    const failure = await failureOf(
      endpoint.invoke(request('ep', { body: Buffer.alloc(DEFAULT_MAX_PAYLOAD_BYTES + 1) })),
    );
    expect(failure.code).toBe('ENDPOINT_VALIDATION');
  });

  it('maps a stopped server to ENDPOINT_UNAVAILABLE, for new and pooled connections', async () => {
    const local = buildLocalEndpoint({
      endpoints: [{ name: 'ep', variants: [echoVariant('A', 1)] }],
    });
    const { url } = await local.listen();
    const pooled = connect(url);
    await pooled.invoke(request('ep'));
    await local.close();

    const fresh = await failureOf(connect(url).invoke(request('ep')));
    expect(fresh.code).toBe('ENDPOINT_UNAVAILABLE');
    expect(fresh.retriable).toBe(true);
    const reused = await failureOf(pooled.invoke(request('ep')));
    expect(reused.code).toBe('ENDPOINT_UNAVAILABLE');
  });

  it('maps a model slower than the client timeout to ENDPOINT_UNAVAILABLE', async () => {
    let release = (): void => undefined;
    const pending = new Promise<string>((resolve) => {
      release = () => resolve('{}');
    });
    cleanups.push(() => release());
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [{ name: 'A', weight: 1, model: () => pending }] }],
    });
    const failure = await failureOf(connect(url, 200).invoke(request('ep')));
    expect(failure.code).toBe('ENDPOINT_UNAVAILABLE');
    expect(failure.cause).toMatchObject({ name: 'TimeoutError' });
  });

  it('maps a caller abort to ENDPOINT_UNAVAILABLE', async () => {
    const controller = new AbortController();
    let release = (): void => undefined;
    const pending = new Promise<string>((resolve) => {
      release = () => resolve('{}');
    });
    cleanups.push(() => release());
    const url = await startEndpoint({
      endpoints: [
        {
          name: 'ep',
          variants: [
            {
              name: 'A',
              weight: 1,
              model: () => {
                // Abort once the request has certainly reached the model.
                controller.abort();
                return pending;
              },
            },
          ],
        },
      ],
    });
    const failure = await failureOf(connect(url).invoke(request('ep'), controller.signal));
    expect(failure.code).toBe('ENDPOINT_UNAVAILABLE');
  });
});

describe('raw protocol details', () => {
  it('types errors with X-Amzn-ErrorType and a JSON body carrying message and Message', async () => {
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [echoVariant('A', 1)] }],
    });
    const response = await fetch(`${url}/endpoints/missing/invocations`, {
      method: 'POST',
      body: 'x',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe(
      'ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/',
    );
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body['message']).toBe('Endpoint missing of account 000000000000 not found.');
    expect(body['Message']).toBe(body['message']);
  });

  it('answers 404 UnknownOperationException off the invocations path, and 200 on /ping', async () => {
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [echoVariant('A', 1)] }],
    });
    const unknown = await fetch(`${url}/endpoints/ep/other`, { method: 'POST', body: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-amzn-errortype')).toMatch(/^UnknownOperationException:/);
    await unknown.arrayBuffer();
    const wrongMethod = await fetch(`${url}/endpoints/ep/invocations`);
    expect(wrongMethod.status).toBe(404);
    await wrongMethod.arrayBuffer();
    const ping = await fetch(`${url}/ping`);
    expect(ping.status).toBe(200);
    await ping.arrayBuffer();
  });

  it('defaults the request content type to application/octet-stream', async () => {
    const url = await startEndpoint({
      endpoints: [{ name: 'ep', variants: [echoVariant('A', 1)] }],
    });
    const response = await fetch(`${url}/endpoints/ep/invocations`, {
      method: 'POST',
      body: new Uint8Array([1, 2]),
    });
    expect(response.headers.get('x-amzn-invoked-production-variant')).toBe('A');
    expect(((await response.json()) as Record<string, unknown>)['contentType']).toBe(
      'application/octet-stream',
    );
  });
});

describe('configuration', () => {
  const variant = echoVariant('A', 1);

  it.each([
    [
      'a duplicate endpoint',
      {
        endpoints: [
          { name: 'ep', variants: [variant] },
          { name: 'ep', variants: [variant] },
        ],
      },
    ],
    ['a duplicate variant', { endpoints: [{ name: 'ep', variants: [variant, variant] }] }],
    ['no positive weight', { endpoints: [{ name: 'ep', variants: [echoVariant('A', 0)] }] }],
    [
      'a negative weight',
      { endpoints: [{ name: 'ep', variants: [echoVariant('A', -1), variant] }] },
    ],
    [
      'a non-finite weight',
      { endpoints: [{ name: 'ep', variants: [echoVariant('B', Number.POSITIVE_INFINITY)] }] },
    ],
    ['an invalid endpoint name', { endpoints: [{ name: 'bad_name', variants: [variant] }] }],
    ['an invalid variant name', { endpoints: [{ name: 'ep', variants: [echoVariant('-A', 1)] }] }],
    [
      'a bad payload limit',
      { endpoints: [{ name: 'ep', variants: [variant] }], maxPayloadBytes: -1 },
    ],
  ])('refuses %s', (_, options) => {
    expect(() => buildLocalEndpoint(options as LocalEndpointOptions)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as DynabError,
    );
  });

  it('reports a port in use as CONFIG_INVALID, and closes idempotently', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as { port: number }).port;
    const endpoint = buildLocalEndpoint({ endpoints: [{ name: 'ep', variants: [variant] }] });
    await expect(endpoint.listen(port)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(endpoint.close()).resolves.toBeUndefined();
    await endpoint.listen(0);
    await endpoint.close();
    await expect(endpoint.close()).resolves.toBeUndefined();
  });
});

describe('chooseVariant', () => {
  const variants = [
    echoVariant('A', 0.2),
    echoVariant('Z', 0),
    echoVariant('B', 0.3),
    echoVariant('C', 0.5),
  ];

  it('matches the weights over many draws (each within 5 binomial sd)', () => {
    const random = seededRandom(12345);
    const draws = 100_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < draws; i += 1) {
      const name = chooseVariant(variants, random).name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    expect(counts.get('Z')).toBeUndefined();
    for (const [name, weight] of [
      ['A', 0.2],
      ['B', 0.3],
      ['C', 0.5],
    ] as const) {
      const sd = Math.sqrt(draws * weight * (1 - weight));
      expect(Math.abs((counts.get(name) ?? 0) - draws * weight)).toBeLessThan(5 * sd);
    }
  });

  it('maps the edges of [0, 1) to the first and last positive-weight variants', () => {
    expect(chooseVariant(variants, () => 0).name).toBe('A');
    expect(chooseVariant(variants, () => 0.2).name).toBe('B');
    expect(chooseVariant(variants, () => 1 - Number.EPSILON).name).toBe('C');
    expect(chooseVariant(variants, () => 1).name).toBe('C');
  });
});

describe('acceptsContentType', () => {
  it.each([
    ['application/json', 'application/json', true],
    ['application/json; charset=utf-8', 'application/json', true],
    ['*/*', 'text/csv', true],
    ['text/*', 'text/csv', true],
    ['text/csv, application/*;q=0.5', 'application/json', true],
    ['text/csv', 'application/json', false],
    ['image/*', 'application/json', false],
  ])('%s admits %s: %s', (accept, contentType, expected) => {
    expect(acceptsContentType(accept, contentType)).toBe(expected);
  });
});
