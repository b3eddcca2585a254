/**
 * Idle graphql-ws subscribers for the fan-out phase: `count` WebSocket connections
 * (one subscription each) opened with at most `handshakes` connection handshakes in
 * flight, each recording when it receives its k-th event (process.hrtime, so times
 * compare with the commit time taken in this process).
 *
 * Source addresses may be spread over 127.0.0.1…127.0.0.N so one (source address,
 * destination) pair never runs out of ephemeral ports.
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { mapLimit } from './load.js';

export const SUBSCRIPTION = `subscription($o: ID!) {
  membershipChanged(organizationId: $o) { id type organizationId userId role previousRole status }
}`;

export interface SubscriberPool {
  readonly count: number;
  /** receipts[round][subscriber]: ms (hrtime) when the round-th event arrived; NaN if not (yet). */
  readonly receipts: Float64Array[];
  /** How many subscribers have received at least `round + 1` events. */
  received(round: number): number;
  /** Problems seen (wrong payloads, errors, early closes), first few. */
  readonly problems: string[];
  problemCount(): number;
  close(concurrency?: number): Promise<void>;
}

export interface OpenOptions {
  wsUrl: string;
  token: string;
  organizationId: string;
  count: number;
  handshakes: number;
  rounds: number;
  sourceAddresses: string[];
  /** Each event's expected fields (checked for every receipt). */
  expect: { type: string; userId: string };
  handshakeTimeoutMs?: number;
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export const openSubscribers = async (o: OpenOptions): Promise<SubscriberPool> => {
  const receipts = Array.from({ length: o.rounds }, () => new Float64Array(o.count).fill(Number.NaN));
  const receivedCount = new Int32Array(o.rounds);
  const seen = new Int32Array(o.count);
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (p: string) => {
    problemCount += 1;
    if (problems.length < 10) problems.push(p);
  };
  const clients: Client[] = [];
  let closing = false;

  const disposeAll = (concurrency: number) =>
    mapLimit(clients, concurrency, (c) => Promise.resolve(c.dispose()).then(() => undefined, () => undefined));

  /** One connection and its subscription; resolves at connection_ack. */
  const connectOne = (i: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const localAddress = o.sourceAddresses[i % o.sourceAddresses.length];
      let settled = false;
      const timeoutMs = o.handshakeTimeoutMs ?? 30_000;
      const timer = setTimeout(() => finish(new Error(`subscriber ${i}: no connection_ack within ${timeoutMs} ms`)), timeoutMs);
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const client = createClient({
        url: o.wsUrl,
        webSocketImpl: class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, localAddress ? { localAddress } : {});
          }
        },
        connectionParams: { authorization: `Bearer ${o.token}` },
        lazy: true,
        retryAttempts: 0,
        keepAlive: 0,
        on: {
          connected: () => finish(),
          closed: (event) => {
            if (!settled) finish(new Error(`subscriber ${i}: closed before ack (${(event as { code?: number }).code ?? '?'})`));
            else if (!closing) problem(`subscriber ${i}: connection closed (${(event as { code?: number }).code ?? '?'})`);
          },
          error: (error) => finish(new Error(`subscriber ${i}: ${String((error as Error)?.message ?? error)}`)),
        },
      });
      clients.push(client);
      client.subscribe<{ membershipChanged: { type: string; userId: string } }>(
        { query: SUBSCRIPTION, variables: { o: o.organizationId } },
        {
          next: (value) => {
            const t = nowMs();
            const k = seen[i]!;
            seen[i] = k + 1;
            const e = value.data?.membershipChanged;
            if (!e || e.type !== o.expect.type || e.userId !== o.expect.userId) {
              problem(`subscriber ${i}: unexpected payload ${JSON.stringify(value).slice(0, 200)}`);
              return;
            }
            if (k < o.rounds) {
              receipts[k]![i] = t;
              receivedCount[k] = receivedCount[k]! + 1;
            } else problem(`subscriber ${i}: more events than rounds`);
          },
          error: (error) => {
            if (!closing) problem(`subscriber ${i}: ${JSON.stringify(error).slice(0, 200)}`);
          },
          complete: () => {
            if (!closing) problem(`subscriber ${i}: completed early`);
          },
        },
      );
    });

  try {
    await mapLimit(
      Array.from({ length: o.count }, (_, i) => i),
      o.handshakes,
      connectOne,
    );
  } catch (error) {
    closing = true;
    await disposeAll(500);
    throw error;
  }

  return {
    count: o.count,
    receipts,
    received: (round) => receivedCount[round] ?? 0,
    problems,
    problemCount: () => problemCount,
    async close(concurrency = 500) {
      closing = true;
      await disposeAll(concurrency);
    },
  };
};
