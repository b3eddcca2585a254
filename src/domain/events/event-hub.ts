/**
 * Fans committed membership events out to in-process subscribers.
 *
 * A wake-up source (PostgreSQL LISTEN on a dedicated connection, or PGlite's
 * in-process listen) says "something was appended". The hub then reads the log
 * once past its high-water mark and hands each event to the subscribers indexed
 * by organization and by user: one query per wake-up per instance, however many
 * subscribers there are. The log is the truth; a lost wake-up is repaired by the
 * next one, and by a periodic poll.
 */
import type { EventWakeSource } from '../../persistence/event-wake-sources.js';
import type { Em } from '../../persistence/orm.js';
import { latestEventId, type MembershipEventRecord, readEventsAfter } from './event-log.js';


export interface EventListener {
  readonly organizationId: string | undefined;
  readonly userId: string | undefined;
  deliver(event: MembershipEventRecord): void;
}

export interface EventHubStats {
  published: (count: number) => void;
}

const BATCH = 500;

export class EventHub {
  #highWater = '0';
  #reading: Promise<void> | undefined;
  #dirty = false;
  #started = false;
  #poll: NodeJS.Timeout | undefined;
  readonly #byOrganization = new Map<string, Set<EventListener>>();
  readonly #byUser = new Map<string, Set<EventListener>>();

  constructor(
    private readonly em: () => Em,
    private readonly source: EventWakeSource,
    private readonly stats: EventHubStats = { published: () => undefined },
    private readonly pollIntervalMs = 5_000,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    if (this.#started) return;
    this.#highWater = await latestEventId(this.em());
    await this.source.start(() => this.wake());
    this.#started = true;
    this.#poll = setInterval(() => this.wake(), this.pollIntervalMs);
    this.#poll.unref();
  }

  async stop(): Promise<void> {
    this.#started = false;
    if (this.#poll) clearInterval(this.#poll);
    await this.source.stop();
    await this.#reading;
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
    this.#reading = this.drain()
      .catch((error: unknown) => this.onError(error))
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

  private async drain(): Promise<void> {
    for (;;) {
      const events = await readEventsAfter(this.em(), { after: this.#highWater, limit: BATCH });
      for (const e of events) {
        this.#highWater = e.id;
        this.dispatch(e);
      }
      if (events.length) this.stats.published(events.length);
      if (events.length < BATCH) return;
    }
  }

  private dispatch(e: MembershipEventRecord): void {
    for (const l of this.#byOrganization.get(e.organizationId) ?? []) l.deliver(e);
    for (const l of this.#byUser.get(e.userId) ?? []) l.deliver(e);
  }
}
