/**
 * A closed-loop load generator in the benchmark's own process (not a separate tool
 * such as wrk or autocannon): `concurrency` workers, each sending its next request
 * as soon as the previous answer arrived, over a keep-alive `node:http` agent with
 * exactly `concurrency` sockets. A warm-up phase runs first and is not recorded.
 * Bounded twice: by time (warm-up + duration) and by a maximum request count.
 */
import { Agent, request } from 'node:http';

export interface LoadRequest {
  path: string;
  body: string;
  headers?: Record<string, string>;
}

export interface LoadOptions {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Upper bound on recorded requests (the latency buffer's size). */
  maxRequests: number;
  /** The `seq`-th request of worker `worker`. */
  next(worker: number, seq: number): LoadRequest;
  /** Returns an error message when a response is not the expected answer. */
  check(status: number, body: string): string | null;
  /** Per-request timeout. */
  timeoutMs?: number;
}

export interface LoadResult {
  /** Requests recorded in the measured window. */
  requests: number;
  /** All requests sent, warm-up included. */
  totalRequests: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export const percentile = (sorted: ArrayLike<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
};

export interface HttpReply {
  status: number;
  body: string;
}

/** One HTTP request on a keep-alive agent, with the whole answer as text. */
export const httpRequest = (
  agent: Agent,
  base: URL,
  options: { method: string; path: string; headers?: Record<string, string | number>; body?: Buffer | undefined; timeoutMs?: number },
): Promise<HttpReply> =>
  new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: options.method,
        path: options.path,
        headers: { ...(options.body ? { 'content-length': options.body.length } : {}), ...options.headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });

const send = (agent: Agent, base: URL, r: LoadRequest, timeoutMs: number): Promise<HttpReply> =>
  httpRequest(agent, base, { method: 'POST', path: r.path, headers: { 'content-type': 'application/json', ...r.headers }, body: Buffer.from(r.body), timeoutMs });


export const runLoad = async (o: LoadOptions): Promise<LoadResult> => {
  const base = new URL(o.baseUrl);
  if (base.hostname !== '127.0.0.1') throw new Error('load goes to 127.0.0.1 only');
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
  const latencies = new Float64Array(o.maxRequests);
  let recorded = 0;
  let total = 0;
  let errors = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupMs;
  const stopAt = measureFrom + o.durationMs;
  let lastEnd = measureFrom;

  const worker = async (w: number) => {
    for (let seq = 0; ; seq++) {
      const start = performance.now();
      if (start >= stopAt || recorded >= o.maxRequests) return;
      total += 1;
      let problem: string | null;
      try {
        const res = await send(agent, base, o.next(w, seq), o.timeoutMs ?? 30_000);
        problem = o.check(res.status, res.body);
      } catch (error) {
        problem = (error as Error).message;
      }
      const end = performance.now();
      if (problem !== null) {
        errors += 1;
        firstError ??= problem.slice(0, 500);
        // A broken server must not spin the loop: give up after many failures.
        if (errors > 1000) return;
      } else if (start >= measureFrom && recorded < o.maxRequests) {
        latencies[recorded++] = end - start;
        if (end > lastEnd) lastEnd = end;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  agent.destroy();

  const sorted = latencies.subarray(0, recorded).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const seconds = (lastEnd - measureFrom) / 1000;
  return {
    requests: recorded,
    totalRequests: total,
    errors,
    firstError,
    seconds,
    rps: seconds > 0 ? recorded / seconds : 0,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: recorded ? sum / recorded : Number.NaN,
  };
};

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export const mapLimit = async <T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> => {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return results;
};
