/**
 * One subscriber's stream of membership events: replay from the log after `after`,
 * then live, with no gap and no duplicate, in id order.
 *
 * Order of operations (ARCHITECTURE.md): listen first (buffering), replay `id > after`
 * from the log, then drain the buffer skipping ids already sent. An organization
 * stream ends with FORBIDDEN once the viewer can no longer enter the organization.
 */
import type { Em } from '../../persistence/orm.js';
import { canEnter, DomainError } from '../model/index.js';
import type { EventHub } from './event-hub.js';
import { compareEventIds, type MembershipEventRecord, readEventsAfter } from './event-log.js';

export interface EventStreamOptions {
  /** The viewer (always). */
  userId: string;
  /** Stream this organization's events; without it, the viewer's own memberships. */
  organizationId?: string | undefined;
  /** Last event id the client saw; omitted = live only. */
  after?: string | null | undefined;
  /** A slow consumer whose buffer grows past this is ended. */
  maxBuffered?: number;
}

const REPLAY_PAGE = 500;

export const checkEventId = (after: string): string => {
  if (!/^\d{1,19}$/.test(after))
    throw new DomainError('BAD_USER_INPUT', `after: "${after.slice(0, 40)}" is not an event id; pass the id of the last event you received.`, {
      field: 'after',
    });
  return after;
};

/** Whether this event ends the viewer's access to the organization stream. */
const endsAccess = (e: MembershipEventRecord, userId: string): boolean =>
  e.userId === userId && (e.type === 'LEFT' || (e.role !== null && e.status !== null && !canEnter({ role: e.role, status: e.status })));

export const openEventStream = (hub: EventHub, em: () => Em, options: EventStreamOptions): AsyncGenerator<MembershipEventRecord> => {
  const { userId, organizationId } = options;
  const maxBuffered = options.maxBuffered ?? 10_000;
  const after = options.after == null ? null : checkEventId(options.after);

  const buffer: MembershipEventRecord[] = [];
  let wakeConsumer: (() => void) | undefined;
  let overflow = false;
  const unsubscribe = hub.subscribe({
    organizationId,
    userId: organizationId === undefined ? userId : undefined,
    deliver(event) {
      if (buffer.length >= maxBuffered) overflow = true;
      else buffer.push(event);
      wakeConsumer?.();
    },
  });

  async function* stream(): AsyncGenerator<MembershipEventRecord> {
    try {
      let lastSent: string | null = after;
      if (after !== null) {
        for (;;) {
          const page = await readEventsAfter(em(), { after: lastSent ?? '0', organizationId, userId: organizationId === undefined ? userId : undefined, limit: REPLAY_PAGE });
          for (const e of page) {
            lastSent = e.id;
            yield e;
            if (organizationId !== undefined && endsAccess(e, userId)) throw lostAccess(organizationId);
          }
          if (page.length < REPLAY_PAGE) break;
        }
      }
      for (;;) {
        if (overflow) throw new DomainError('CONFLICT', 'The subscriber fell too far behind; reconnect with `after` set to the last event id you received.');
        const e = buffer.shift();
        if (!e) {
          await new Promise<void>((resolve) => (wakeConsumer = resolve));
          wakeConsumer = undefined;
          continue;
        }
        if (lastSent !== null && compareEventIds(e.id, lastSent) <= 0) continue; // already replayed
        lastSent = e.id;
        yield e;
        if (organizationId !== undefined && endsAccess(e, userId)) throw lostAccess(organizationId);
      }
    } finally {
      unsubscribe();
    }
  }
  return stream();
};

const lostAccess = (organizationId: string) =>
  new DomainError('FORBIDDEN', `You can no longer enter organization "${organizationId}"; this subscription has ended.`, { organizationId });
