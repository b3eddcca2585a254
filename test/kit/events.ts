/**
 * The event log in tests: the settled newest id (`lastEventId`) and the events after it
 * (`eventsAfter`), and a membershipChanged recorder over a real graphql-ws client.
 */
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { LATEST_EVENT_ID_SQL } from '../../src/domain/events/event-log.js';
import { MembershipChangedDocument, type MembershipChangedSubscription } from '../generated/graphql.js';
import { type On, rows } from './db.js';

export type Event = MembershipChangedSubscription['membershipChanged'];

export interface EventRow {
  id: string;
  type: string;
  organization_id: string;
  user_id: string;
  membership_id: string;
  actor: string;
  role: string | null;
  status: string | null;
  previous_role: string | null;
  previous_status: string | null;
  team_ids: string[] | null;
  previous_team_ids: string[] | null;
  /** The id of the transaction that wrote the event. */
  xmin: string;
}

/**
 * The newest event id once every committed event is readable: readers see an event only
 * when every transaction older than it has ended (docs/events.md: the horizon, which is
 * cluster-wide), and another test's transaction on the same cluster may hold that back for
 * a moment. Every "events after this point" mark in the tests comes from here.
 */
export const lastEventId = async (on: On): Promise<string> => {
  for (;;) {
    const [row] = await rows<{ newest: string; readable: string }>(
      on,
      `select coalesce(max(id), 0)::text as newest, ${LATEST_EVENT_ID_SQL} as readable from membership_events`,
    );
    if (row!.newest === row!.readable) return row!.newest;
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** The event log as the database has it (committed rows) after `after`, optionally for one organization, in id order. */
export const eventsAfter = async (on: On, after: string, filter: { organizationId?: string } = {}): Promise<EventRow[]> => {
  const found = await rows<EventRow>(
    on,
    `select id::text as id, type, organization_id, user_id, membership_id, actor, role, status, previous_role, previous_status,
            team_ids, previous_team_ids, xmin::text as xmin
       from membership_events where id > ?::bigint ${filter.organizationId ? 'and organization_id = ?' : ''} order by id`,
    filter.organizationId ? [after, filter.organizationId] : [after],
  );
  return found.map((r) => ({
    ...r,
    team_ids: typeof r.team_ids === 'string' ? JSON.parse(r.team_ids) : r.team_ids,
    previous_team_ids: typeof r.previous_team_ids === 'string' ? JSON.parse(r.previous_team_ids) : r.previous_team_ids,
  }));
};

export interface Recording {
  events: Event[];
  /** Errors from `next` results (refusals before the stream starts). */
  resultErrors: { message: string; extensions?: { code?: string } }[];
  /** What the `error` sink received: an array of GraphQL errors (operation ended) or a CloseEvent. */
  error: unknown;
  completed: boolean;
  ended: Promise<void>;
  /** Resolves once `n` events arrived (or the operation ended first). */
  until(n: number, timeoutMs?: number): Promise<Event[]>;
  stop(): void;
}

/** Subscribes to membershipChanged and records everything that arrives. */
export const record = (client: Client, variables: { organizationId?: string | null; after?: string | null } = {}): Recording => {
  let finish!: () => void;
  const ended = new Promise<void>((r) => (finish = r));
  const waiters: (() => void)[] = [];
  const rec: Recording = {
    events: [],
    resultErrors: [],
    error: undefined,
    completed: false,
    ended,
    async until(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (rec.events.length < n && !rec.completed && rec.error === undefined && Date.now() < deadline)
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      return rec.events;
    },
    stop: () => undefined,
  };
  const poke = () => waiters.splice(0).forEach((w) => w());
  rec.stop = client.subscribe<MembershipChangedSubscription>(
    { query: print(MembershipChangedDocument), variables },
    {
      next: (v) => {
        if (v.errors) rec.resultErrors.push(...(v.errors as Recording['resultErrors']));
        if (v.data) rec.events.push(v.data.membershipChanged);
        poke();
      },
      error: (e) => {
        rec.error = e;
        poke();
        finish();
      },
      complete: () => {
        rec.completed = true;
        poke();
        finish();
      },
    },
  );
  return rec;
};

/** The first GraphQL error code in what ended a subscription (`error` sink array or result errors). */
export const endCode = (rec: Recording): string | undefined => {
  if (Array.isArray(rec.error)) return (rec.error[0] as { extensions?: { code?: string } })?.extensions?.code;
  return rec.resultErrors[0]?.extensions?.code;
};

/** Waits until `check` passes (polling), or fails with its last error. */
export const eventually = async (check: () => void | Promise<void>, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
};

export const ids = (events: { id: string }[]): string[] => events.map((e) => e.id);

export const strictlyIncreasing = (list: string[]): boolean => list.every((id, i) => i === 0 || BigInt(id) > BigInt(list[i - 1]!));
