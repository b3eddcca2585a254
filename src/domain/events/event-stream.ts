/**
 * One subscriber's stream of membership events: replay from the log after `after`,
 * then live, with no gap and no duplicate, in strictly increasing id order.
 *
 * Order of operations:
 * 1. listen first: register with the hub, buffering whatever it dispatches from now on;
 * 2. take a snapshot in ONE statement: the log position (the newest final event id,
 *    event-log.ts) and, for an
 *    organization stream, the viewer's membership there. Refuse with NOT_FOUND /
 *    FORBIDDEN here, before the stream exists. The membership row and the events
 *    that describe it commit together, so the snapshot's position is exactly the
 *    point in the log at which the access check holds;
 * 3. replay `id > after` from the log in pages (when `after` is given), then drain the
 *    buffer, skipping ids already sent. Without `after` the stream starts at the
 *    snapshot position (live only).
 *
 * Slow consumers: the live buffer is bounded. When it overflows it is dropped and the
 * stream catches up from the log (the log is the truth), then returns to live events;
 * a slow consumer therefore costs at most one page of memory and never misses an
 * event. A consumer that stops reading altogether blocks graphql-ws on the socket,
 * which the keep-alive ping ends.
 *
 * Losing access (organization streams): an event about the viewer that leaves them
 * unable to enter (LEFT, DISABLED, NO_ACCESS) and lies after the snapshot is
 * delivered, then the next pull throws FORBIDDEN and the stream is over. Such events
 * at or before the snapshot are history (the viewer has regained access since, or the
 * check would have refused): they do not end the stream, but other members' events
 * from that window, when the viewer could not enter, are left out.
 *
 * This is a hand-written iterator rather than an async generator on purpose: an
 * async generator queues `return()` behind a pending `next()`, so an idle
 * subscription (waiting for an event that may never come) could not be ended by a
 * client's `complete` or a closed socket, and would leak its hub listener.
 *
 * Memory: thousands of streams sit idle at a time, so one is a single object (its own
 * hub listener) with methods on the prototype, and an idle `next()` is one pending
 * promise whose settle functions the stream holds, not a suspended async function.
 */
import type { Em } from '../../persistence/orm.js';
import { acceptsParams, acceptsSql, assertAccess, organizationNotFound } from '../access.js';
import { type AuthenticationScope, canEnter, DomainError, type OrganizationRole, type UserStatus } from '../model/index.js';
import { databaseUnavailable } from '../unavailable.js';
import type { EventHub, EventListener } from './event-hub.js';
import { COMMITTED_BEYOND_HORIZON_SQL, compareEventIds, LATEST_EVENT_ID_SQL, type MembershipEventRecord, readEventsAfter } from './event-log.js';

export interface EventStreamOptions {
  /** The viewer (always). */
  userId: string;
  /** The viewer's session's authentications: only organizations that accept them are streamed (SPEC §6). */
  scope: AuthenticationScope;
  /** Stream this organization's events (the viewer must be able to enter it); without it, the viewer's own memberships. */
  organizationId?: string | undefined;
  /** Last event id the client saw; omitted = live only, from the moment of subscribing. */
  after?: string | null | undefined;
  /** Live events held for a consumer that has not pulled them yet; beyond this it catches up from the log. Default 1000. */
  maxBuffered?: number;
  /** Events read from the log per replay / catch-up query. Default 500. */
  pageSize?: number;
}

export type EventStream = AsyncIterableIterator<MembershipEventRecord> & {
  return(): Promise<IteratorResult<MembershipEventRecord>>;
  /** Events waiting in the live buffer (for tests and diagnostics). */
  readonly buffered: number;
};

/** What the access watch (access-watch.ts) needs of a stream. */
export interface ScopedListener {
  readonly organizationId: string | undefined;
  readonly scope: AuthenticationScope;
  /** The organization no longer accepts the session: the stream ends with FORBIDDEN. */
  loseAccess(): void;
  /** Trust may have changed: decide again, per organization, which of the viewer's events to stream. */
  forgetScope(): void;
}

const MAX_EVENT_ID = 9223372036854775807n;

/** Parses a client-supplied event id; BAD_USER_INPUT when it cannot be one. */
export const checkEventId = (after: string): string => {
  const valid = /^\d{1,19}$/.test(after) && BigInt(after) <= MAX_EVENT_ID;
  if (!valid)
    throw new DomainError('BAD_USER_INPUT', `after: "${after.slice(0, 40)}" is not an event id; pass the id of the last event you received.`, {
      field: 'after',
    });
  return BigInt(after).toString();
};

const lostAccess = (organizationId: string) =>
  new DomainError('FORBIDDEN', `You can no longer enter organization "${organizationId}"; this subscription has ended.`, { organizationId });

/** Does this event (about the viewer) leave them unable to enter? */
const endsAccess = (e: MembershipEventRecord): boolean =>
  e.type === 'LEFT' || (e.role !== null && e.status !== null && !canEnter({ role: e.role, status: e.status }));

interface Snapshot {
  position: string;
  role: OrganizationRole | null;
  status: UserStatus | null;
  /** Viewer streams: which of the viewer's organizations accept the session now. */
  accepted: Record<string, boolean> | null;
  /** This stream's events the snapshot sees committed above `position` (not final yet when it was taken). */
  seen: string[];
}

const ids = (v: unknown): string[] => (typeof v === 'string' ? (JSON.parse(v) as string[]) : Array.isArray(v) ? (v as string[]) : []);

const snapshot = async (em: Em, userId: string, organizationId: string | undefined, scope: AuthenticationScope): Promise<Snapshot> => {
  if (organizationId === undefined) {
    const [row] = await em.execute<{ position: string; seen: unknown; accepted: string | Record<string, boolean> | null }[]>(
      `select ${LATEST_EVENT_ID_SQL} as position, ${COMMITTED_BEYOND_HORIZON_SQL('user_id')} as seen,
              (select jsonb_object_agg(m.organization_id, ${acceptsSql('o')})
                 from memberships m join organizations o on o.id = m.organization_id where m.user_id = ?) as accepted`,
      [userId, ...acceptsParams({ scope }), userId],
    );
    const accepted = typeof row?.accepted === 'string' ? (JSON.parse(row.accepted) as Record<string, boolean>) : (row?.accepted ?? {});
    return { position: row?.position ?? '0', role: null, status: null, accepted, seen: ids(row?.seen) };
  }
  // One statement = one snapshot: the position, the membership and the events seen agree. Out of scope reads as no membership.
  const [row] = await em.execute<(Omit<Snapshot, 'seen'> & { seen: unknown })[]>(
    `select ${LATEST_EVENT_ID_SQL} as position, m.role, m.status, null as accepted, ${COMMITTED_BEYOND_HORIZON_SQL('organization_id')} as seen
       from (select 1) one
       left join (memberships m join organizations o on o.id = m.organization_id and ${acceptsSql('o')})
              on m.user_id = ? and m.organization_id = ?`,
    [organizationId, ...acceptsParams({ scope }), userId, organizationId],
  );
  return row ? { ...row, seen: ids(row.seen) } : { position: '0', role: null, status: null, accepted: null, seen: [] };
};

/** Which of these organizations accept the scope now. */
const acceptedOrganizations = async (em: Em, organizationIds: readonly string[], scope: AuthenticationScope): Promise<Set<string>> => {
  const rows = await em.execute<{ id: string }[]>(
    `select o.id from organizations o where o.id in (select jsonb_array_elements_text(?::jsonb)) and ${acceptsSql('o')}`,
    [JSON.stringify(organizationIds), ...acceptsParams({ scope })],
  );
  return new Set(rows.map((r) => r.id));
};

type Result = IteratorResult<MembershipEventRecord>;
const done = (): Result => ({ done: true, value: undefined });

/** One `next()` waiting for an event. */
interface Waiter {
  resolve(r: Result): void;
  reject(e: unknown): void;
}

class MembershipEventStream implements EventStream, EventListener, ScopedListener {
  // The hub's filter: an organization's events, or (without one) the viewer's own.
  readonly organizationId: string | undefined;
  readonly userId: string | undefined;
  readonly scope: AuthenticationScope;
  readonly #viewer: string;
  /** Viewer streams: organization → accepts the session (unknown ones are looked up before their events pass). */
  #accepted = new Map<string, boolean>();
  #hub: EventHub | undefined;
  readonly #em: () => Em;
  readonly #maxBuffered: number;
  readonly #pageSize: number;
  #buffer: MembershipEventRecord[] = [];
  #page: MembershipEventRecord[] = [];
  #catchUp = false;
  #reading = false;
  #closed = false;
  #failure: DomainError | undefined;
  #checkpoint = '0';
  /**
   * Events above the checkpoint that the snapshot already saw committed: part of the past
   * (a live-only stream skips them; they never end access). Dropped once passed.
   */
  #seen: Set<string> | undefined;
  #seenLast = '0';
  #liveOnly = false;
  #lastSent = '0';
  /** Organization streams: the viewer could not enter at this point of the replayed history. */
  #suspended = false;
  /** Pending `next()` calls, served in order (almost always at most one). */
  #waiter: Waiter | undefined;
  #moreWaiters: Waiter[] | undefined;

  constructor(hub: EventHub, em: () => Em, viewer: string, organizationId: string | undefined, scope: AuthenticationScope, maxBuffered: number, pageSize: number) {
    this.organizationId = organizationId;
    this.scope = scope;
    this.userId = organizationId === undefined ? viewer : undefined;
    this.#viewer = viewer;
    this.#em = em;
    this.#maxBuffered = maxBuffered;
    this.#pageSize = pageSize;
    this.#hub = hub;
    hub.subscribe(this);
  }

  /** After the snapshot: where the stream starts, and whether it replays first. */
  start(checkpoint: string, after: string | null, accepted: Record<string, boolean> | null, seen: readonly string[] = []): void {
    if (accepted) this.#accepted = new Map(Object.entries(accepted));
    this.#checkpoint = checkpoint;
    this.#lastSent = after ?? checkpoint;
    this.#liveOnly = after === null;
    if (seen.length) {
      this.#seen = new Set(seen);
      this.#seenLast = seen.reduce((m, id) => (compareEventIds(id, m) > 0 ? id : m), '0');
    }
    if (after !== null && compareEventIds(after, checkpoint) < 0) this.#catchUp = true;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /** The hub hands over a live event. */
  deliver(event: MembershipEventRecord): void {
    if (this.#buffer.length >= this.#maxBuffered) {
      // The log has every one of them: drop the buffer and read from the log instead.
      this.#buffer = [];
      this.#catchUp = true;
    } else this.#buffer.push(event);
    this.#serve();
  }

  loseAccess(): void {
    if (this.#closed || this.#failure || this.organizationId === undefined) return;
    this.#failure = lostAccess(this.organizationId);
    this.stopListening();
    this.#serve();
  }

  forgetScope(): void {
    this.#accepted.clear();
  }

  stopListening(): void {
    this.#hub?.unsubscribe(this);
    this.#hub = undefined;
  }

  next(): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#waiter === undefined) this.#waiter = waiter;
      else (this.#moreWaiters ??= []).push(waiter);
      this.#serve();
    });
  }

  /** Not queued behind a pending next(): ends it (it resolves done) and releases the listener now. */
  return(): Promise<Result> {
    this.#finish();
    return Promise.resolve(done());
  }

  throw(error?: unknown): Promise<Result> {
    this.#finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #finish(): void {
    this.#closed = true;
    this.#buffer = [];
    this.#page = [];
    this.stopListening();
    this.#serve();
  }

  #takeWaiter(): Waiter {
    const w = this.#waiter!;
    this.#waiter = this.#moreWaiters?.shift();
    return w;
  }

  /** Decides what to do with the next candidate event: send it, or skip it (undefined). */
  #consider(e: MembershipEventRecord): MembershipEventRecord | undefined {
    if (compareEventIds(e.id, this.#lastSent) <= 0) return undefined; // already sent (replay and live overlap)
    this.#lastSent = e.id;
    const past = this.#seen?.has(e.id) ?? false;
    if (this.#seen && compareEventIds(e.id, this.#seenLast) >= 0) this.#seen = undefined;
    if (past && this.#liveOnly) return undefined; // committed before the subscription started
    const organizationId = this.organizationId;
    if (organizationId === undefined) return this.#accepted.get(e.organizationId) ? e : undefined;
    if (e.userId === this.#viewer) {
      if (endsAccess(e)) {
        if (compareEventIds(e.id, this.#checkpoint) > 0 && !past) {
          this.#failure = lostAccess(organizationId);
          this.stopListening();
        } else this.#suspended = true;
      } else if (e.role !== null && e.status !== null) this.#suspended = false;
      return e;
    }
    return this.#suspended ? undefined : e;
  }

  /** Answers waiting next() calls with what is at hand; reads the log when it must; otherwise they wait. */
  #serve(): void {
    while (this.#waiter !== undefined && !this.#reading) {
      if (this.#closed) {
        this.#takeWaiter().resolve(done());
        continue;
      }
      if (this.#failure) {
        // The pull that meets the failure throws it, and the stream is over (later pulls: done).
        const failure = this.#failure;
        const w = this.#takeWaiter();
        this.#finish();
        w.reject(failure);
        continue;
      }
      const fromPage = this.#page[0];
      if (fromPage) {
        if (this.#lookUpScope(fromPage)) return;
        this.#page.shift();
        const e = this.#consider(fromPage);
        if (e) this.#takeWaiter().resolve({ done: false, value: e });
        continue;
      }
      if (this.#catchUp) {
        this.#read();
        return;
      }
      const live = this.#buffer[0];
      if (live) {
        if (this.#lookUpScope(live)) return;
        this.#buffer.shift();
        const e = this.#consider(live);
        if (e) this.#takeWaiter().resolve({ done: false, value: e });
        continue;
      }
      return; // nothing yet: the waiter stays until deliver() or the end
    }
  }

  /**
   * Viewer streams: an event of an organization whose acceptance is not known yet waits for
   * one read of it (true: a read started; #serve runs again when it settles).
   */
  #lookUpScope(e: MembershipEventRecord): boolean {
    if (this.organizationId !== undefined || this.#accepted.has(e.organizationId) || compareEventIds(e.id, this.#lastSent) <= 0) return false;
    this.#reading = true;
    const ids = [...new Set([...this.#page, ...this.#buffer].map((x) => x.organizationId).filter((id) => !this.#accepted.has(id)))];
    acceptedOrganizations(this.#em(), ids, this.scope).then(
      (accepted) => {
        this.#reading = false;
        for (const id of ids) this.#accepted.set(id, accepted.has(id));
        this.#serve();
      },
      (error: unknown) => this.#readFailed(error),
    );
    return true;
  }

  /** A failed read ends the stream; the pull that asked for it gets the error. */
  #readFailed(error: unknown): void {
    this.#reading = false;
    const w = this.#closed ? undefined : this.#waiter && this.#takeWaiter();
    this.#finish();
    w?.reject(error);
  }

  /** One page from the log; whatever is dispatched meanwhile lands in the (fresh) buffer or sets catchUp again. */
  #read(): void {
    this.#catchUp = false;
    this.#buffer = [];
    this.#reading = true;
    readEventsAfter(this.#em(), { organizationId: this.organizationId, userId: this.userId, after: this.#lastSent, limit: this.#pageSize }).then(
      (page) => {
        this.#reading = false;
        if (this.#closed) return this.#serve();
        this.#page = page;
        if (page.length === this.#pageSize) this.#catchUp = true;
        this.#serve();
      },
      (error: unknown) => this.#readFailed(error),
    );
  }
}

/**
 * Opens a stream: listens, checks access, and returns the iterator. Refusals
 * (BAD_USER_INPUT, NOT_FOUND, FORBIDDEN) are thrown here, before any event flows.
 */
export const openEventStream = async (hub: EventHub, em: () => Em, options: EventStreamOptions): Promise<EventStream> => {
  const { userId, organizationId } = options;
  const after = options.after == null ? null : checkEventId(String(options.after));
  const maxBuffered = Math.max(1, options.maxBuffered ?? 1_000);
  const pageSize = Math.max(1, options.pageSize ?? 500);
  // A stalled hub would deliver nothing live: refuse now, the client retries later with `after`.
  if (hub.stalled) throw databaseUnavailable();

  // 1. Listen first.
  const stream = new MembershipEventStream(hub, em, userId, organizationId, options.scope, maxBuffered, pageSize);

  // 2. Snapshot and access check.
  let snap: Snapshot;
  try {
    snap = await snapshot(em(), userId, organizationId, options.scope);
    if (organizationId !== undefined) {
      if (snap.role === null || snap.status === null) throw organizationNotFound(organizationId);
      assertAccess({ role: snap.role, status: snap.status, organization: { id: organizationId } }, 'enter');
    }
    if (after !== null && compareEventIds(after, snap.position) > 0)
      throw new DomainError('BAD_USER_INPUT', `after: ${after} is beyond the latest event id (${snap.position}); pass the id of the last event you received.`, {
        field: 'after',
        latestEventId: snap.position,
      });
  } catch (error) {
    stream.stopListening();
    throw error;
  }

  // 3. Replay (when asked and there is something after `after`), then live.
  stream.start(snap.position, after, snap.accepted, snap.seen);
  return stream;
};
