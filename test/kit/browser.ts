/**
 * Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the hosted
 * pages: the UI build, a request log per browser context, axe-core checks and screenshots.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { NODE, ROOT } from './compiled.js';
import { codeAndLink, type Mailbox } from './mailbox.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(ROOT, 'dist/screenshots');

/** Generous: the machine may be busy with other test files. */
export const UI_TIMEOUT_MS = 30_000;

const newestMtime = (path: string): number =>
  statSync(path).isDirectory() ? Math.max(0, ...readdirSync(path).map((e) => newestMtime(join(path, e)))) : statSync(path).mtimeMs;

/** Time after which a build lock is taken to be left over from a killed run. */
const STALE_LOCK_MS = 5 * 60_000;

/**
 * Runs `npm run build:ui`'s two Vite builds when dist/ui is missing or older than ui/. Test
 * files run in parallel and the first build empties dist/ui, so one file builds at a time
 * (a lock directory, made atomically) and the others wait, then find it fresh.
 */
export const ensureUiBuilt = async (): Promise<void> => {
  const index = join(ROOT, 'dist/ui/org-switcher.js');
  const fresh = () => {
    const sources = Math.max(newestMtime(join(ROOT, 'ui')), newestMtime(join(ROOT, 'vite.ui.config.ts')), newestMtime(join(ROOT, 'vite.switcher.config.ts')));
    return existsSync(index) && statSync(index).mtimeMs >= sources;
  };
  if (fresh()) return;
  const lock = join(ROOT, 'dist/.ui-build.lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = (() => {
        try {
          return Date.now() - statSync(lock).mtimeMs;
        } catch {
          return 0;
        }
      })();
      if (since > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (fresh()) return;
    const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
    const run = promisify(execFile);
    await run(NODE, [vite, 'build', '-c', 'vite.ui.config.ts'], { cwd: ROOT });
    await run(NODE, [vite, 'build', '-c', 'vite.switcher.config.ts'], { cwd: ROOT });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
};

/** Signs in through the sign-in page with the code from the email the mailbox receives. */
export const signInByEmail = async (page: Page, origin: string, mailbox: Mailbox, email: string): Promise<void> => {
  await page.goto(`${origin}/`);
  await page.getByLabel('Work email').fill(email);
  const since = mailbox.received.length;
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Code').waitFor();
  const { code } = codeAndLink(await mailbox.next(email, since, UI_TIMEOUT_MS));
  await page.getByLabel('Code').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('home-organization').waitFor();
};

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });

export interface LoggedContext {
  context: BrowserContext;
  page: Page;
  /** Every URL the context requested, in order. */
  requests: string[];
}

export const newLoggedContext = async (browser: Browser): Promise<LoggedContext> => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(UI_TIMEOUT_MS);
  const requests: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  const page = await context.newPage();
  return { context, page, requests };
};

/** Requests that left the gateway: anything but its origin (data: and blob: URLs stay in the page). */
export const foreignRequests = (requests: readonly string[], gatewayOrigin: string): string[] =>
  requests.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:') && !url.startsWith('about:') && new URL(url).origin !== gatewayOrigin);

const AXE_SOURCE = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's serious and critical violations on the page as it is now. */
export const seriousAxeViolations = async (page: Page, exclude: string[] = []): Promise<AxeViolation[]> => {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async (excluded) => {
    const axe = (window as unknown as { axe: { run(context: object, options: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run({ include: [['html']], exclude: excluded.map((selector) => [selector]) }, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  }, exclude);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
};

/** The whole page, or only `clip` (for a small widget on an empty page). */
export const screenshot = async (page: Page, name: string, clip?: { x: number; y: number; width: number; height: number }): Promise<void> => {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), ...(clip ? { clip } : { fullPage: true }) });
};
