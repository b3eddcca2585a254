/**
 * One gateway instance as operators run it: `node dist/src/main.js` (what `orgway serve`
 * runs) in its own process, on a fixed loopback port kept across restarts (the drills'
 * "load balancer" knows instances by address), logging to a file in the drill directory.
 * Defaults for every timeout: the drills exercise the configuration a deployment gets.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface ProbeAnswer {
  status: number | 'refused' | 'timeout';
  body: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export const probe = async (url: string, timeoutMs = 2_500): Promise<ProbeAnswer> => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.text()).slice(0, 300) };
  } catch (error) {
    const name = (error as Error).name;
    return { status: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'refused', body: String((error as Error).cause ?? (error as Error).message).slice(0, 200) };
  }
};

export class GatewayInstance {
  #child: ChildProcess | undefined;
  #exited: Promise<Exit> | undefined;
  lastExit: Exit | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly databaseUrl: string,
    private readonly logDir: string,
    private readonly env: Record<string, string> = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/graphql`;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get logFile(): string {
    return join(this.logDir, `gateway-${this.name}.log`);
  }

  /** Starts the process and waits (bounded) until /readyz answers 200. Returns the time that took. */
  async start(timeoutMs = 60_000): Promise<number> {
    if (this.running) throw new Error(`instance ${this.name} is already running`);
    const t0 = performance.now();
    const log = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        DATABASE_URL: this.databaseUrl,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env.DRILLS_LOG_LEVEL ?? 'warn',
        ORGWAY_PUBLIC_URL: this.url,
        ...this.env,
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.#child = child;
    this.#exited = new Promise<Exit>((resolve) =>
      child.once('exit', (code, signal) => {
        this.lastExit = { code, signal, at: performance.now() };
        resolve(this.lastExit);
      }),
    );
    const until = t0 + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`instance ${this.name} exited while starting (${JSON.stringify(this.lastExit)}); log: ${this.logTail()}`);
      const r = await probe(`${this.url}/readyz`, 1_000);
      if (r.status === 200) return performance.now() - t0;
      if (performance.now() > until) throw new Error(`instance ${this.name} not ready within ${timeoutMs} ms: ${r.status} ${r.body}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** kill -9 of this process (by its pid). */
  kill9(): void {
    this.#child?.kill('SIGKILL');
  }

  /** SIGTERM; resolves with the exit once the process is gone. */
  terminate(): Promise<Exit> {
    this.#child?.kill('SIGTERM');
    return this.#exited ?? Promise.resolve({ code: null, signal: null, at: performance.now() });
  }

  async waitExit(): Promise<Exit | undefined> {
    return this.#exited;
  }

  /** Stops it for good at the end of a run: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    const exited = this.terminate();
    const timer = setTimeout(() => this.kill9(), graceMs);
    await exited;
    clearTimeout(timer);
  }

  logTail(lines = 10): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}
