/**
 * graphql-ws subscribers that behave like real clients: each subscribes to one
 * organization's membershipChanged on its home instance, and whenever its connection or
 * operation ends (instance killed, drained with 1001, stalled with 1013, refused) it
 * resubscribes with `after` = the last id it received, on its home instance when the load
 * balancer (HealthMonitor) sees it ready, else on another ready one. Every receipt is kept,
 * so a drill can compare each subscriber's sequence with the log.
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { HealthMonitor } from './health-monitor.js';

const SUBSCRIPTION = `subscription($o: ID!, $a: ID) {
  membershipChanged(organizationId: $o, after: $a) { id type userId }
}`;

export interface Endpoint {
  name: string;
  wsUrl: string;
}

export interface Receipt {
  id: string;
  userId: string;
  at: number;
  instance: string;
}

/** Reconnect delays: the first after a close is spread over this, then doubling up to the maximum. */
const FIRST_RETRY_SPREAD_MS = 500;
const MAX_RETRY_MS = 2_000;

export class Subscriber {
  readonly receipts: Receipt[] = [];
  readonly seen = new Set<string>();
  duplicates = 0;
  outOfOrder = 0;
  lastId: string;
  /** Close codes of its connections (1001 drain, 1006 abnormal, 1013 try again later, …). */
  readonly closes = new Map<number, number>();
  /** GraphQL error codes that ended an operation (UNAVAILABLE while the database is down, …). */
  readonly operationErrors = new Map<string, number>();
  connections = 0;
  instance: string | undefined;
  connected = false;
  /** performance.now() of each connection_ack. */
  readonly acks: { at: number; instance: string }[] = [];
  #client: Client | undefined;
  #socket: WebSocket | undefined;
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly index: number,
    readonly organizationId: string,
    private readonly token: string,
    readonly home: string,
    readonly startAfter: string,
    private readonly endpoints: Endpoint[],
    private readonly balancer: HealthMonitor,
  ) {
    this.lastId = startAfter;
  }

  start(): void {
    this.#connect();
  }

  /** Stops reading its socket (a slow consumer): nothing it is sent is read until resumeReading. */
  pauseReading(): boolean {
    const raw = (this.#socket as unknown as { _socket?: { pause(): void } } | undefined)?._socket;
    raw?.pause();
    return raw !== undefined;
  }

  resumeReading(): void {
    (this.#socket as unknown as { _socket?: { resume(): void } } | undefined)?._socket?.resume();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const c = this.#client;
    this.#client = undefined;
    if (c) await Promise.resolve(c.dispose()).catch(() => undefined);
  }

  #pick(): Endpoint | undefined {
    const home = this.endpoints.find((e) => e.name === this.home);
    if (home && this.balancer.isReady(home.name)) return home;
    const ready = this.endpoints.filter((e) => this.balancer.isReady(e.name));
    return ready[this.index % Math.max(1, ready.length)];
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retry) return;
    const delay = this.#failures === 0 ? Math.random() * FIRST_RETRY_SPREAD_MS : Math.min(MAX_RETRY_MS, 250 * 2 ** this.#failures) * (0.5 + Math.random() / 2);
    this.#failures += 1;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect();
    }, delay);
  }

  #connect(): void {
    if (this.#closed) return;
    const endpoint = this.#pick();
    if (!endpoint) return this.#scheduleReconnect();
    this.connections += 1;
    this.instance = endpoint.name;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.connected = false;
      const c = client;
      if (this.#client === c) this.#client = undefined;
      void Promise.resolve(c.dispose()).catch(() => undefined);
      this.#scheduleReconnect();
    };
    const keepSocket = (socket: WebSocket) => (this.#socket = socket);
    const client = createClient({
      url: endpoint.wsUrl,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols);
          keepSocket(this);
        }
      },
      connectionParams: { authorization: `Bearer ${this.token}` },
      lazy: true,
      retryAttempts: 0,
      keepAlive: 0,
      on: {
        connected: () => {
          this.connected = true;
          this.acks.push({ at: performance.now(), instance: endpoint.name });
        },
        closed: (event) => {
          const code = (event as { code?: number } | undefined)?.code ?? 0;
          if (!this.#closed) this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
          end();
        },
      },
    });
    this.#client = client;
    client.subscribe<{ membershipChanged: { id: string; type: string; userId: string } }>(
      { query: SUBSCRIPTION, variables: { o: this.organizationId, a: this.lastId } },
      {
        next: (value) => {
          const e = value.data?.membershipChanged;
          if (!e) {
            for (const err of value.errors ?? []) this.#operationError((err.extensions as { code?: string } | undefined)?.code);
            return;
          }
          this.#failures = 0;
          if (this.seen.has(e.id)) this.duplicates += 1;
          else if (BigInt(e.id) <= BigInt(this.lastId)) this.outOfOrder += 1;
          this.seen.add(e.id);
          if (BigInt(e.id) > BigInt(this.lastId)) this.lastId = e.id;
          this.receipts.push({ id: e.id, userId: e.userId, at: performance.now(), instance: endpoint.name });
        },
        error: (error) => {
          if (Array.isArray(error)) for (const err of error) this.#operationError((err as { extensions?: { code?: string } }).extensions?.code);
          end();
        },
        complete: () => end(),
      },
    );
  }

  #operationError(code: string | undefined): void {
    const c = code ?? 'UNKNOWN';
    this.operationErrors.set(c, (this.operationErrors.get(c) ?? 0) + 1);
  }
}

export const mergeCounts = (maps: Map<string | number, number>[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of m) out[String(k)] = (out[String(k)] ?? 0) + v;
  return out;
};
