// Configuration of the local endpoint service from command-line arguments and environment.
// Arguments win over environment so a one-off run can override a shared .env.

import { parseArgs } from 'node:util';

import { DynabError } from '../../lib/errors/catalogue.ts';
import { DEFAULT_SPAM_VARIANTS, type SpamVariantSpec } from './spam-models.ts';

export interface LocalEndpointConfig {
  readonly endpointName: string;
  readonly host: string;
  readonly port: number;
  readonly variants: readonly SpamVariantSpec[];
}

export const LOCAL_ENDPOINT_USAGE = `Usage: local-endpoint [--endpoint NAME] [--host HOST] [--port PORT] [--variants SPEC]
  --endpoint  endpoint name (env DYNAB_LOCAL_ENDPOINT_NAME, default spam-filter)
  --host      interface to bind (env DYNAB_LOCAL_ENDPOINT_HOST, default 127.0.0.1)
  --port      port, 0 = any free port (env DYNAB_LOCAL_ENDPOINT_PORT, default 0)
  --variants  comma-separated name[:recipe]=weight (env DYNAB_LOCAL_ENDPOINT_VARIANTS,
              default champion=0.5,challenger=0.5); recipes: champion, challenger, challenger-weak`;

export function parseLocalEndpointConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): LocalEndpointConfig {
  let values: {
    endpoint?: string | undefined;
    host?: string | undefined;
    port?: string | undefined;
    variants?: string | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        endpoint: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        variants: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new DynabError('CONFIG_INVALID', `${(error as Error).message}\n${LOCAL_ENDPOINT_USAGE}`, {
      cause: error,
    });
  }
  const portText = values.port ?? env['DYNAB_LOCAL_ENDPOINT_PORT'] ?? '0';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) {
    throw new DynabError(
      'CONFIG_INVALID',
      `port must be an integer in [0, 65535], got ${JSON.stringify(portText)}`,
    );
  }
  const variantsText = values.variants ?? env['DYNAB_LOCAL_ENDPOINT_VARIANTS'];
  return {
    endpointName: values.endpoint ?? env['DYNAB_LOCAL_ENDPOINT_NAME'] ?? 'spam-filter',
    host: values.host ?? env['DYNAB_LOCAL_ENDPOINT_HOST'] ?? '127.0.0.1',
    port,
    variants: variantsText === undefined ? DEFAULT_SPAM_VARIANTS : parseVariantSpecs(variantsText),
  };
}

/** Parses `champion=0.5,challenger=0.5` or `A:challenger=1,B:champion=1`. */
export function parseVariantSpecs(text: string): SpamVariantSpec[] {
  const specs = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const match = /^([^:=\s]+)(?::([^=\s]+))?=([^=\s]+)$/.exec(part);
      const weight = Number(match?.[3]);
      if (match === null || !(Number.isFinite(weight) && weight >= 0)) {
        throw new DynabError(
          'CONFIG_INVALID',
          `variant spec ${JSON.stringify(part)} is not name[:recipe]=weight`,
        );
      }
      const name = match[1] ?? '';
      return match[2] === undefined ? { name, weight } : { name, weight, recipe: match[2] };
    });
  if (specs.length === 0) throw new DynabError('CONFIG_INVALID', 'at least one variant is needed');
  return specs;
}
