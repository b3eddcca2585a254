/**
 * Servers under test run in their own processes (forked, with an IPC channel) so the
 * load generator's and the subscribers' CPU and memory are not counted against them.
 * The protocol is tiny: the child sends `{ type: 'ready', port }`, then answers
 * `{ id, cmd, args }` requests with `{ id, ok, result | error }`.
 */
import { type ChildProcess, fork } from 'node:child_process';

export interface ChildRequest {
  id: number;
  cmd: string;
  args?: unknown;
}

export type ChildReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface ServerChild {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop, then kills it (this one process, by pid) if it does not within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface StartChildOptions {
  name: string;
  script: string;
  env: Record<string, string>;
  execArgv?: string[];
  startTimeoutMs?: number;
}

export const startChild = (options: StartChildOptions): Promise<ServerChild> => {
  const child: ChildProcess = fork(options.script, [], {
    env: { ...process.env, ...options.env },
    // BENCH_CHILD_CPU_PROF_DIR: a whole-life V8 CPU profile of every server process (diagnostics).
    execArgv: [...(options.execArgv ?? []), ...(process.env.BENCH_CHILD_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CHILD_CPU_PROF_DIR}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return new Promise<ServerChild>((resolveStart, rejectStart) => {
    const startTimer = setTimeout(() => {
      rejectStart(new Error(`${options.name}: not ready within ${options.startTimeoutMs ?? 60_000} ms`));
      child.kill('SIGKILL');
    }, options.startTimeoutMs ?? 60_000);

    child.on('exit', (code, signal) => {
      exited = true;
      clearTimeout(startTimer);
      rejectStart(new Error(`${options.name} exited before it was ready (code ${code}, signal ${signal})`));
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${options.name} exited (code ${code}, signal ${signal})`));
      }
      pending.clear();
    });

    child.on('message', (raw) => {
      const msg = raw as { type?: string; port?: number; id?: number; ok?: boolean; result?: unknown; error?: string };
      if (msg.type === 'ready' && typeof msg.port === 'number') {
        clearTimeout(startTimer);
        const port = msg.port;
        resolveStart({
          name: options.name,
          pid: child.pid!,
          port,
          url: `http://127.0.0.1:${port}`,
          call<T>(cmd: string, args?: unknown, timeoutMs = 120_000): Promise<T> {
            if (exited) return Promise.reject(new Error(`${options.name} has exited`));
            const id = nextId++;
            return new Promise<T>((resolve, reject) => {
              const timer = setTimeout(() => {
                pending.delete(id);
                reject(new Error(`${options.name}: "${cmd}" did not answer within ${timeoutMs} ms`));
              }, timeoutMs);
              pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
              child.send({ id, cmd, args } satisfies ChildRequest);
            });
          },
          async stop(timeoutMs = 15_000) {
            if (exited) return;
            try {
              child.send({ id: 0, cmd: 'stop' } satisfies ChildRequest);
            } catch {
              // channel already closed
            }
            const killTimer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
            await exitedPromise;
            clearTimeout(killTimer);
          },
        });
        return;
      }
      if (typeof msg.id === 'number') {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(`${options.name}: ${msg.error ?? 'failed'}`));
      }
    });
  });
};

/** Child side: wires request handlers to the IPC channel and announces readiness. */
export const serveChild = (port: number, handlers: Record<string, (args: unknown) => unknown>, stop: () => Promise<void>): void => {
  if (!process.send) throw new Error('This script runs as a child of bench/run.js (it needs an IPC channel).');
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    // Bounded: a stuck drain must not keep the benchmark alive.
    const hard = setTimeout(() => process.exit(2), 12_000);
    hard.unref();
    stop()
      .catch((error: unknown) => process.stderr.write(`stop failed: ${String(error)}\n`))
      .finally(() => process.exit(0));
  };
  process.on('message', (raw) => {
    const req = raw as ChildRequest;
    if (req.cmd === 'stop') return shutdown();
    const handler = handlers[req.cmd];
    if (!handler) return process.send!({ id: req.id, ok: false, error: `unknown command ${req.cmd}` } satisfies ChildReply);
    Promise.resolve()
      .then(() => handler(req.args))
      .then(
        (result) => process.send!({ id: req.id, ok: true, result } satisfies ChildReply),
        (error: unknown) => process.send!({ id: req.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies ChildReply),
      );
  });
  // The parent died: do not linger.
  process.on('disconnect', shutdown);
  process.on('SIGTERM', shutdown);
  process.send({ type: 'ready', port });
};

/** Memory after garbage collection (the process must run with --expose-gc). */
export const measuredMemory = async (): Promise<NodeJS.MemoryUsage> => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
};
