// The installed command: package.json's "bin" names a JavaScript shim that runs the TypeScript
// entry point, so `npx dynab …` works after `npm install`. Its help lists every command.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('dynab command', () => {
  it('is the package bin and lists every command; an unknown one exits 2', async () => {
    const manifest = JSON.parse(await readFile(`${repoRoot}package.json`, 'utf8')) as {
      bin?: Record<string, string>;
    };
    expect(manifest.bin).toEqual({ dynab: 'bin/dynab.mjs' });

    const { stdout } = await run(process.execPath, ['bin/dynab.mjs', '--help'], { cwd: repoRoot });
    for (const command of ['start', 'experiment', 'audit', 'replay', 'history', 'ope', 'report'])
      expect(stdout).toMatch(new RegExp(`dynab ${command}\\b`));

    const unknown = await run(process.execPath, ['bin/dynab.mjs', 'no-such-command'], {
      cwd: repoRoot,
    }).catch((error: unknown) => error as { code: number; stderr: string });
    expect(unknown).toMatchObject({ code: 2 });
    // Two Node processes that load tsx and the whole CLI: seconds on a loaded 2-core machine.
  }, 30_000);
});
