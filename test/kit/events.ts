/**
 * Helpers for membership-event tests: members with sessions, a subscription
 * recorder over a real graphql-ws client, and direct reads of the event log.
 */
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { expect } from 'vitest';
import { LATEST_EVENT_ID_SQL } from '../../src/domain/events/event-log.js';
import type { OrganizationRole } from '../../src/domain/model/index.js';
import type { Database } from '../../src/persistence/orm.js';
import { MembershipChangedDocument, type MembershipChangedSubscription } from '../generated/graphql.js';
import type { Gateway, GqlResult } from './gateway.js';

export type Event = MembershipChangedSubscription['membershipChanged'];

let seq = 0;
export const email = (label = 'user'): string => `${label}.${++seq}.${Math.random().toString(36).slice(2, 8)}@example.com`;

export const data = <T = any>(r: GqlResult<T>): T => {
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data as T;
};

export const STAGE = `mutation($o: ID!, $e: String!, $r: OrganizationRole) { stageUser(organizationId: $o, email: $e, role: $r) { id user { id } } }`;
export const SET_STATUS = `mutation($o: ID!, $u: ID!, $s: UserStatus!) { setMembershipStatus(organizationId: $o, userId: $u, status: $s) { id status } }`;
export const SET_ROLE = `mutation($o: ID!, $u: ID!, $r: OrganizationRole!) { setMembershipRole(organizationId: $o, userId: $u, role: $r) { id role } }`;
export const REMOVE = `mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }`;
export const SWITCH = `mutation($o: ID!) { switchOrganization(organizationId: $o) { membership { status } } }`;

export interface Member {
  userId: string;
  token: string;
}

/** Stages a user into the admin's organization (by email; existing users are linked) and gives it a session. */
export const addMember = async (gw: Gateway, admin: { orgId: string; token: string }, role: OrganizationRole = 'MEMBER', address = email()): Promise<Member> => {
  const r = data(await gw.gql<any>(STAGE, { o: admin.orgId, e: address, r: role }, admin.token));
  const userId = r.stageUser.user.id as string;
  const session = await gw.container.identity.createSession(userId, admin.orgId, ['OPERATOR']);
  return { userId, token: session.token };
};

export interface LogRow {
  id: string;
  type: string;
  organization_id: string;
  user_id: string;
  actor: string;
}

/** The event log as the database has it (committed rows), optionally for one organization, in id order. */
export const log = async (gw: Gateway, filter: { organizationId?: string; after?: string } = {}): Promise<LogRow[]> => {
  const where = ['id > ?'];
  const params: unknown[] = [filter.after ?? '0'];
  if (filter.organizationId) {
    where.push('organization_id = ?');
    params.push(filter.organizationId);
  }
  const rows = await gw.t.db
    .em()
    .execute<LogRow[]>(`select id::text as id, type, organization_id, user_id, actor from membership_events where ${where.join(' and ')} order by membership_events.id`, params);
  return rows;
};

/**
 * The newest event id once every committed event is readable: readers see an event only
 * when every transaction older than it has ended (docs/events.md), and another test's
 * transaction on the same cluster may hold that back for a moment.
 */
export const settledLastEventId = async (db: Database): Promise<string> => {
  for (;;) {
    const [row] = await db.em().execute<{ newest: string; readable: string }[]>(
      `select coalesce(max(id), 0)::text as newest, ${LATEST_EVENT_ID_SQL} as readable from membership_events`,
    );
    if (row!.newest === row!.readable) return row!.newest;
    await new Promise((r) => setTimeout(r, 5));
  }
};

export const lastEventId = (gw: Gateway): Promise<string> => settledLastEventId(gw.t.db);

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

/** Reads one metric's value from GET /metrics. */
export const metric = async (gw: Gateway, name: string): Promise<number> => {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : NaN;
};

export const ids = (events: { id: string }[]): string[] => events.map((e) => e.id);

export const strictlyIncreasing = (list: string[]): boolean => list.every((id, i) => i === 0 || BigInt(id) > BigInt(list[i - 1]!));
