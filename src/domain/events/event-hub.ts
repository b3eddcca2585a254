/**
 * Fans committed membership events out to in-process subscribers.
 *
 * A wake-up source (PostgreSQL LISTEN on a dedicated connection, or PGlite's
 * in-process listen) says "something was appended". The hub then reads the log
 * once past its high-water mark and hands each event to the subscribers indexed
 * by organization and by user: one query per wake-up per instance, however many
 * subscribers there are. The log is the truth; a lost wake-up is repaired by the
 * next one, and by a periodic poll.
 *
 * Nothing hangs: a read that does not settle within `readTimeoutMs` counts as failed
 * (its late result is ignored) and is retried; a hub that has not completed a read for
 * `stallAfterMs` is stalled: it tells its stall listeners (the transports close their
 * subscriptions so that clients resubscribe with `after`) and `/healthz` fails, until a
 * read completes again.
 */
import type { EventWakeSource } from '../../persistence/event-wake-sources.js';
import type { Em } from '../../persistence/orm.js';
import { type EventPage, latestEventId, type MembershipEventRecord, readEventPage } from './event-log.js';

export interface EventListener {
  readonly organizationId: string | undefined;
  readonly userId: string | undefined;
  deliver(event: MembershipEventRecord): void;
}

export interface EventHubStats {
  published: (count: number) => void;
}

export interface EventHubOptions {
  /** How often the hub reads the log without a wake-up (a lost notification costs at most this). */
  pollIntervalMs?: number;
  /** A read that has not settled after this long is abandoned and retried. */
  readTimeoutMs?: number;
  /** No completed read for this long: the hub is stalled. At least two poll intervals. */
  stallAfterMs?: number;
  onError?: (error: unknown) => void;
  /** Reading the log (tests put a broken or slow read here). */
  read?: (em: Em, after: string, limit: number) => Promise<EventPage>;
}

const BATCH = 500;
const SETTLE_MAX_DELAY_MS = 50;

class ReadTimeout extends Error {
  override readonly name = 'DatabaseTimeoutError';
}

export class EventHub {
  #highWater = '0';
  #reading: Promise<void> | undefined;
  #dirty = false;
  #started = false;
  #poll: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** Bumped when a read is abandoned: a late result of an older read is dropped. */
  #generation = 0;
  #lastRead = performance.now();
  #stalled = false;
  readonly #stallListeners = new Set<() => void>();
  readonly #byOrganization = new Map<string, Set<EventListener>>();
  readonly #byUser = new Map<string, Set<EventListener>>();
  readonly #pollIntervalMs: number;
  readonly #readTimeoutMs: number;
  readonly #stallAfterMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #read: (em: Em, after: string, limit: number) => Promise<EventPage>;
  /** Re-read soon while committed events wait for an older transaction to end (grows while it runs). */
  #settleDelayMs = 0;
  #settleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly em: () => Em,
    private readonly source: EventWakeSource,
    private readonly stats: EventHubStats = { published: () => undefined },
    options: EventHubOptions = {},
  ) {
    this.#pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.#readTimeoutMs = options.readTimeoutMs ?? 10_000;
    this.#stallAfterMs = Math.max(options.stallAfterMs ?? 15_000, 2 * this.#pollIntervalMs);
    this.#onError = options.onError ?? (() => undefined);
    this.#read = options.read ?? ((em, after, limit) => readEventPage(em, { after, limit }));
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#highWater = await this.#withTimeout(latestEventId(this.em()));
    await this.source.start(() => this.wake());
    this.#started = true;
    this.#lastRead = performance.now();
    this.#poll = setInterval(() => {
      this.#checkStall();
      this.wake();
    }, this.#pollIntervalMs);
    this.#poll.unref();
  }

  async stop(): Promise<void> {
    this.#started = false;
    if (this.#poll) clearInterval(this.#poll);
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#settleTimer) clearTimeout(this.#settleTimer);
    await this.source.stop();
    await this.#reading;
  }

  /** True while the hub has not completed a read for `stallAfterMs` (liveness fails). */
  get stalled(): boolean {
    this.#checkStall();
    return this.#stalled;
  }

  /** Milliseconds since the last completed read. */
  get sinceLastReadMs(): number {
    return Math.round(performance.now() - this.#lastRead);
  }

  /** Called each time the hub becomes stalled; returns a function that removes the listener. */
  onStall(listener: () => void): () => void {
    this.#stallListeners.add(listener);
    return () => void this.#stallListeners.delete(listener);
  }

  get subscriberCount(): number {
    let n = 0;
    for (const s of this.#byOrganization.values()) n += s.size;
    for (const s of this.#byUser.values()) n += s.size;
    return n;
  }

  /** Registers a listener; from now on every newly read event that matches reaches it. */
  subscribe(listener: EventListener): () => void {
    const index = listener.organizationId !== undefined ? this.#byOrganization : this.#byUser;
    const key = listener.organizationId ?? listener.userId;
    if (key === undefined) throw new Error('A listener needs an organizationId or a userId.');
    let set = index.get(key);
    if (!set) index.set(key, (set = new Set()));
    set.add(listener);
    return () => this.unsubscribe(listener);
  }

  /** Removes a listener (no-op when it is not registered); it receives nothing more. */
  unsubscribe(listener: EventListener): void {
    const index = listener.organizationId !== undefined ? this.#byOrganization : this.#byUser;
    const key = listener.organizationId ?? listener.userId;
    if (key === undefined) return;
    const set = index.get(key);
    if (!set?.delete(listener)) return;
    if (set.size === 0) index.delete(key);
  }

  /** Every registered listener (the access watch re-checks them). */
  *listeners(): IterableIterator<EventListener> {
    for (const set of this.#byOrganization.values()) yield* set;
    for (const set of this.#byUser.values()) yield* set;
  }

  /** Read and dispatch whatever was appended; coalesces concurrent wake-ups. */
  wake(): void {
    if (this.#reading) {
      this.#dirty = true;
      return;
    }
    if (this.#retry) {
      clearTimeout(this.#retry);
      this.#retry = undefined;
    }
    const generation = ++this.#generation;
    this.#reading = this.#withTimeout(this.drain(generation))
      .then(
        () => {
          this.#lastRead = performance.now();
          this.#stalled = false;
        },
        (error: unknown) => {
          // Whatever the abandoned read returns later is dropped (see drain).
          this.#generation++;
          this.#onError(error);
          this.#scheduleRetry();
        },
      )
      .finally(() => {
        this.#reading = undefined;
        if (this.#dirty && this.#started) {
          this.#dirty = false;
          this.wake();
        }
      });
  }

  /** Resolves when the hub has dispatched everything committed before the call. */
  async settle(): Promise<void> {
    this.wake();
    while (this.#reading) await this.#reading;
  }

  #scheduleRetry(): void {
    if (!this.#started || this.#retry) return;
    this.#retry = setTimeout(
      () => {
        this.#retry = undefined;
        this.wake();
      },
      Math.min(1_000, this.#pollIntervalMs),
    );
    this.#retry.unref();
  }

  #checkStall(): void {
    if (this.#stalled || !this.#started || performance.now() - this.#lastRead < this.#stallAfterMs) return;
    this.#stalled = true;
    this.#onError(new Error(`the membership event log has not been read for ${this.sinceLastReadMs} ms; closing subscriptions`));
    for (const l of [...this.#stallListeners]) l();
  }

  #withTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ReadTimeout(`reading the membership event log took longer than ${this.#readTimeoutMs} ms`)), this.#readTimeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private async drain(generation: number): Promise<void> {
    for (;;) {
      const { events, settling } = await this.#read(this.em(), this.#highWater, BATCH);
      if (generation !== this.#generation) return; // abandoned: a newer read owns the high-water mark
      for (const e of events) {
        this.#highWater = e.id;
        this.dispatch(e);
      }
      if (events.length) this.stats.published(events.length);
      if (events.length < BATCH) return this.#settleLater(settling, events.length > 0);
    }
  }

  /**
   * Committed events above the horizon wait for an older transaction (of any writer) to
   * end, which may send no notification: read again after 2, 4, 8 … ms, then every 50 ms.
   */
  #settleLater(settling: boolean, progressed: boolean): void {
    if (!settling) {
      this.#settleDelayMs = 0;
      return;
    }
    this.#settleDelayMs = progressed || this.#settleDelayMs === 0 ? 2 : Math.min(this.#settleDelayMs * 2, SETTLE_MAX_DELAY_MS, this.#pollIntervalMs);
    if (this.#settleTimer || !this.#started) return;
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      this.wake();
    }, this.#settleDelayMs);
    this.#settleTimer.unref();
  }

  private dispatch(e: MembershipEventRecord): void {
    for (const l of this.#byOrganization.get(e.organizationId) ?? []) l.deliver(e);
    for (const l of this.#byUser.get(e.userId) ?? []) l.deliver(e);
  }
}
