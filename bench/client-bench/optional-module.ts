// Candidate clients are not dependencies of the project. The benchmark loads one if it is
// installed in the project, or in the folder named by DYNAB_BENCH_MODULES (a folder holding a
// node_modules, e.g. a scratch `npm install` done for the evaluation); otherwise it skips it.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export type Loaded<T> =
  | { readonly ok: true; readonly module: T; readonly from: string }
  | { readonly ok: false; readonly reason: string };

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Imports `name` and returns it typed as `T`: the caller declares the small part of the API it
 * uses, since the package's own types are absent when it is not installed.
 */
export async function importOptional<T>(name: string): Promise<Loaded<T>> {
  const extra = process.env['DYNAB_BENCH_MODULES'];
  const attempts: { from: string; load: () => Promise<unknown> }[] = [
    { from: 'project', load: () => import(name) as Promise<unknown> },
  ];
  if (extra !== undefined && extra !== '') {
    attempts.push({
      from: extra,
      load: () => {
        const resolved = createRequire(join(extra, 'package.json')).resolve(name);
        return import(pathToFileURL(resolved).href) as Promise<unknown>;
      },
    });
  }
  const reasons: string[] = [];
  for (const attempt of attempts) {
    try {
      const loaded = (await attempt.load()) as { default?: unknown };
      // A CommonJS package arrives as the default export of its namespace.
      const module = (loaded.default ?? loaded) as T;
      return { ok: true, module, from: attempt.from };
    } catch (error) {
      if (!isNotFound(error)) {
        // Installed but unusable (e.g. a native addon that failed to build): say why.
        reasons.push(`${attempt.from}: ${error instanceof Error ? error.message : String(error)}`);
      } else {
        reasons.push(`${attempt.from}: not installed`);
      }
    }
  }
  return { ok: false, reason: reasons.join('; ') };
}
