/**
 * One subscriber's stream of membership events: replay from the log after `after`,
 * then live, with no gap and no duplicate, in strictly increasing id order.
 *
 * Order of operations (ARCHITECTURE.md):
 * 1. listen first: register with the hub, buffering whatever it dispatches from now on;
 * 2. take a snapshot in ONE statement: the log position (max event id) and, for an
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
 */
import type { Em } from '../../persistence/orm.js';
import { assertAccess, organizationNotFound } from '../access.js';
import { canEnter, DomainError, type OrganizationRole, type UserStatus } from '../model/index.js';
import type { EventHub } from './event-hub.js';
import { compareEventIds, type MembershipEventRecord, readEventsAfter } from './event-log.js';

export interface EventStreamOptions {
  /** The viewer (always). */
  userId: string;
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
}

const snapshot = async (em: Em, userId: string, organizationId: string | undefined): Promise<Snapshot> => {
  if (organizationId === undefined) {
    const [row] = await em.execute<{ position: string }[]>('select coalesce(max(id), 0)::text as position from membership_events');
    return { position: row?.position ?? '0', role: null, status: null };
  }
  // One statement = one snapshot: the position and the membership agree.
  const [row] = await em.execute<Snapshot[]>(
    `select (select coalesce(max(id), 0)::text from membership_events) as position, m.role, m.status
       from (select 1) one
       left join memberships m on m.user_id = ? and m.organization_id = ?`,
    [userId, organizationId],
  );
  return row ?? { position: '0', role: null, status: null };
};

/**
 * Opens a stream: listens, checks access, and returns the iterator. Refusals
 * (BAD_USER_INPUT, NOT_FOUND, FORBIDDEN) are thrown here, before any event flows.
 */
export const openEventStream = async (hub: EventHub, em: () => Em, options: EventStreamOptions): Promise<EventStream> => {
  const { userId, organizationId } = options;
  const after = options.after == null ? null : checkEventId(String(options.after));
  const maxBuffered = Math.max(1, options.maxBuffered ?? 1_000);
  const pageSize = Math.max(1, options.pageSize ?? 500);
  const filter = { organizationId, userId: organizationId === undefined ? userId : undefined };

  let buffer: MembershipEventRecord[] = [];
  let page: MembershipEventRecord[] = [];
  let catchUp = false;
  let wake: (() => void) | undefined;
  let closed = false;
  let failure: DomainError | undefined;

  // 1. Listen first.
  let unsubscribe: (() => void) | undefined = hub.subscribe({
    ...filter,
    deliver(event) {
      if (buffer.length >= maxBuffered) {
        // The log has every one of them: drop the buffer and read from the log instead.
        buffer = [];
        catchUp = true;
      } else buffer.push(event);
      wake?.();
    },
  });
  const stopListening = () => {
    unsubscribe?.();
    unsubscribe = undefined;
    wake?.();
  };

  // 2. Snapshot and access check.
  let snap: Snapshot;
  try {
    snap = await snapshot(em(), userId, organizationId);
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
    stopListening();
    throw error;
  }
  const checkpoint = snap.position;

  // 3. Replay (when asked and there is something after `after`), then live.
  let lastSent = after ?? checkpoint;
  if (after !== null && compareEventIds(after, checkpoint) < 0) catchUp = true;
  /** Organization streams: the viewer could not enter at this point of the replayed history. */
  let suspended = false;

  /** Decides what to do with the next candidate event: send it, or skip it (undefined). */
  const consider = (e: MembershipEventRecord): MembershipEventRecord | undefined => {
    if (compareEventIds(e.id, lastSent) <= 0) return undefined; // already sent (replay and live overlap)
    lastSent = e.id;
    if (organizationId === undefined) return e;
    if (e.userId === userId) {
      if (endsAccess(e)) {
        if (compareEventIds(e.id, checkpoint) > 0) {
          failure = lostAccess(organizationId);
          stopListening();
        } else suspended = true;
      } else if (e.role !== null && e.status !== null) suspended = false;
      return e;
    }
    return suspended ? undefined : e;
  };

  const finish = (): IteratorResult<MembershipEventRecord> => {
    closed = true;
    buffer = [];
    page = [];
    stopListening();
    return { done: true, value: undefined };
  };

  let pulling: Promise<IteratorResult<MembershipEventRecord>> = Promise.resolve({ done: true, value: undefined });

  const pull = async (): Promise<IteratorResult<MembershipEventRecord>> => {
    for (;;) {
      if (closed) return { done: true, value: undefined };
      if (failure) throw failure;
      const fromPage = page.shift();
      if (fromPage) {
        const e = consider(fromPage);
        if (e) return { done: false, value: e };
        continue;
      }
      if (catchUp) {
        // Everything dispatched from here on lands in the (fresh) buffer or sets catchUp again.
        catchUp = false;
        buffer = [];
        page = await readEventsAfter(em(), { ...filter, after: lastSent, limit: pageSize });
        if (page.length === pageSize) catchUp = true;
        continue;
      }
      const live = buffer.shift();
      if (live) {
        const e = consider(live);
        if (e) return { done: false, value: e };
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  };

  /** Whatever ends a pull with an error (FORBIDDEN, a failed read) ends the stream and releases its listener. */
  const guardedPull = async (): Promise<IteratorResult<MembershipEventRecord>> => {
    try {
      return await pull();
    } catch (error) {
      finish();
      throw error;
    }
  };

  const stream: EventStream = {
    get buffered() {
      return buffer.length;
    },
    next() {
      // Pulls are served one at a time, in order.
      pulling = pulling.then(guardedPull, guardedPull);
      return pulling;
    },
    async return() {
      // Not queued behind a pending next(): ends it (it resolves done) and releases the listener now.
      return finish();
    },
    async throw(error?: unknown) {
      finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return stream;
};
