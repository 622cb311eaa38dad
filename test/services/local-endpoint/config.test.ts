import { describe, expect, it } from 'vitest';

import type { DynabError } from '../../../lib/errors/catalogue.ts';
import {
  parseLocalEndpointConfig,
  parseVariantSpecs,
} from '../../../services/local-endpoint/config.ts';

const configInvalid = expect.objectContaining({ code: 'CONFIG_INVALID' }) as DynabError;

describe('parseLocalEndpointConfig', () => {
  it('defaults to spam-filter on 127.0.0.1, any port, champion and challenger at 0.5', () => {
    expect(parseLocalEndpointConfig([], {})).toEqual({
      endpointName: 'spam-filter',
      host: '127.0.0.1',
      port: 0,
      variants: [
        { name: 'champion', weight: 0.5 },
        { name: 'challenger', weight: 0.5 },
      ],
    });
  });

  it('reads the environment, and arguments override it', () => {
    const env = {
      DYNAB_LOCAL_ENDPOINT_NAME: 'from-env',
      DYNAB_LOCAL_ENDPOINT_PORT: '8080',
      DYNAB_LOCAL_ENDPOINT_HOST: '0.0.0.0',
      DYNAB_LOCAL_ENDPOINT_VARIANTS: 'champion=1',
    };
    expect(parseLocalEndpointConfig([], env)).toEqual({
      endpointName: 'from-env',
      host: '0.0.0.0',
      port: 8080,
      variants: [{ name: 'champion', weight: 1 }],
    });
    expect(
      parseLocalEndpointConfig(
        ['--endpoint', 'cli', '--port', '9000', '--variants', 'A:challenger-weak=2'],
        env,
      ),
    ).toEqual({
      endpointName: 'cli',
      host: '0.0.0.0',
      port: 9000,
      variants: [{ name: 'A', weight: 2, recipe: 'challenger-weak' }],
    });
  });

  it.each([
    [['--port', '-1']],
    [['--port', '70000']],
    [['--port', 'abc']],
    [['--unknown']],
    [['positional']],
  ])('refuses %j', (argv) => {
    expect(() => parseLocalEndpointConfig(argv, {})).toThrow(configInvalid);
  });
});

describe('parseVariantSpecs', () => {
  it('parses name[:recipe]=weight lists, ignoring blanks', () => {
    expect(parseVariantSpecs(' champion=0.25, B:challenger=0.75 ,')).toEqual([
      { name: 'champion', weight: 0.25 },
      { name: 'B', weight: 0.75, recipe: 'challenger' },
    ]);
  });

  it.each(['', 'champion', 'champion=', 'champion=-1', 'champion=x', 'a=b=c'])(
    'refuses %j',
    (text) => {
      expect(() => parseVariantSpecs(text)).toThrow(configInvalid);
    },
  );
});
