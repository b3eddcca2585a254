/**
 * Running the compiled gateway and CLI as real child processes (what `npm start` and the
 * `orgway` bin run), with the pinned Node 24 binary. `ensureBuilt()` runs `tsc -p
 * tsconfig.build.json` once when dist/ is missing or older than src/ (a lock keeps two
 * test workers from building at the same time).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

export const ROOT = resolve(import.meta.dirname, '../..');
export const NODE = join(ROOT, 'node_modules/.bin/node');
export const MAIN = join(ROOT, 'dist/src/main.js');
export const BIN = join(ROOT, 'bin/orgway.js');

const newestMtime = (dir: string): number => {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
};

const isFresh = () => existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestMtime(join(ROOT, 'src'));

export const ensureBuilt = async (): Promise<void> => {
  if (isFresh()) return;
  const lock = join(ROOT, 'dist/.test-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    let fd: number | undefined;
    try {
      mkdirSync(join(ROOT, 'dist'), { recursive: true });
      fd = openSync(lock, 'wx');
    } catch {
      // Another worker builds; a lock older than two minutes is stale.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) unlinkSync(lock);
      if (Date.now() > deadline) throw new Error('timed out waiting for another test worker to build dist/');
      await sleep(250);
      if (isFresh()) return;
      continue;
    }
    try {
      if (!isFresh()) {
        // tsc emits even when it reports type errors (e.g. in files someone is editing); the
        // tests then run what was emitted, and `npx tsc --noEmit` is where type errors fail.
        await promisify(execFile)(NODE, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT }).catch(() => undefined);
        if (!existsSync(MAIN)) throw new Error('npm run build did not produce dist/src/main.js');
      }
      return;
    } finally {
      closeSync(fd);
      unlinkSync(lock);
    }
  }
};

/** A clean environment: the parent's DATABASE_URL & co. never leak into a child. */
export const childEnv = (env: Record<string, string | undefined>): NodeJS.ProcessEnv => {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
  return base;
};

export interface Child {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Parsed pino lines of stdout. */
  logs(): Record<string, unknown>[];
  /** Resolves with the first stdout log line matching, or rejects after `timeoutMs`. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the process exits (or rejects after `timeoutMs`). */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

const children = new Set<Child>();

/** Kills every child still running (for afterAll). */
export const killAll = () => {
  for (const c of children) c.kill();
};

export const start = (args: string[], env: Record<string, string | undefined>): Child => {
  const proc = spawn(NODE, args, { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    proc.once('exit', (code, signal) => {
      children.delete(child);
      done({ code, signal });
    }),
  );
  const parse = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  const child: Child = {
    proc,
    stdout: () => out,
    stderr: () => err,
    logs: parse,
    async waitForLog(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let exitedEarly = false;
      void exit.then(() => (exitedEarly = true));
      for (;;) {
        const found = parse().find(match);
        if (found) return found;
        if (exitedEarly) throw new Error(`process exited before the expected log line.\nstdout:\n${out}\nstderr:\n${err}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for a log line.\nstdout:\n${out}\nstderr:\n${err}`);
        await sleep(50);
      }
    },
    exited(timeoutMs = 30_000) {
      let timer: NodeJS.Timeout;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms.\nstdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
      });
      return Promise.race([exit, timeout]).finally(() => clearTimeout(timer));
    },
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
  children.add(child);
  return child;
};

/** Runs a command to completion: `{ code, stdout, stderr }`. */
export const run = async (args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000) => {
  const c = start(args, env);
  const { code } = await c.exited(timeoutMs).catch((e: unknown) => {
    c.kill();
    throw e;
  });
  return { code, stdout: c.stdout(), stderr: c.stderr() };
};

/** Starts the compiled server and waits for the line with the bound address. */
export const startServer = async (env: Record<string, string | undefined>, timeoutMs = 60_000) => {
  const child = start([MAIN], { PORT: '0', LOG_LEVEL: 'info', ...env });
  const line = await child.waitForLog((l) => typeof l.address === 'string' && String(l.msg).startsWith('orgway listening'), timeoutMs);
  return { child, url: String(line.address) };
};
