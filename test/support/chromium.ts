// Headless Chromium for tests that look at a page: Debian's `chromium`, installed by
// infra/setup/ensure-chromium.sh when missing (CI calls it too). No driver library: the page
// writes what it rendered into its DOM, `--dump-dom` prints the DOM after the page's scripts
// ran, and `--screenshot` keeps a picture.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ENSURE = fileURLToPath(new URL('../../infra/setup/ensure-chromium.sh', import.meta.url));

/** The browser's path, installing Debian's chromium first when there is none. */
export function ensureChromium(): string {
  const out = execFileSync('bash', [ENSURE], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const match = /chromium: (\/\S+)\s*$/.exec(out);
  if (match?.[1] === undefined) throw new Error(`ensure-chromium.sh printed no browser: ${out}`);
  return match[1];
}

export interface PageCapture {
  readonly dom: string;
}

/** Opens a local file offline, returns its DOM after load and saves a PNG screenshot. */
export async function capturePage(
  browser: string,
  file: string,
  screenshot: string,
  size: { width: number; height: number },
): Promise<PageCapture> {
  const profile = await mkdtemp(join(tmpdir(), 'dynab-chromium-'));
  const common = [
    '--headless',
    // Tests run as root in CI, where Chromium's sandbox cannot start.
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
    // No network: the report must open without one.
    '--proxy-server=127.0.0.1:9',
    '--proxy-bypass-list=<-loopback>',
    `--window-size=${size.width},${size.height}`,
  ];
  const url = pathToFileURL(file).href;
  try {
    const { stdout } = await run(browser, [...common, '--dump-dom', url], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
    });
    await run(browser, [...common, `--screenshot=${screenshot}`, url], { timeout: 60_000 });
    return { dom: stdout };
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}
