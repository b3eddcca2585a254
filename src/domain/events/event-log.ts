/**
 * The append-only membership event log.
 *
 * Ordering guarantee (what makes `after` replay gap-free): appends take a
 * transaction-scoped advisory lock *before* the ids are drawn, and hold it until
 * commit, so transactions that append commit in id order. A reader that has seen
 * event N committed has therefore seen every committed event below N.
 * Lock and insert are one statement (one round trip): the insert reads its rows
 * through a cross join with the materialized CTE that takes the lock, and the
 * bigserial default is evaluated per row the insert receives, so no id exists before
 * the lock is held (a join yields no row before both sides have yielded one).
 * The lock is taken last in the use case, so a transaction holding it never waits on
 * a row lock or a unique key: no deadlock cycles. In `run` the entity changes are
 * flushed by earlier statements; a use case that is one statement passes `after`, and
 * the lock waits until that CTE's writes (and their waits) are all done.
 */
import { type Cte, withCtes } from '../../persistence/cte.js';
import type { Em } from '../../persistence/orm.js';
import type { MembershipEventType, OrganizationRole, UserStatus } from '../model/index.js';

export const EVENTS_CHANNEL = 'orgway_membership_events';
const APPEND_LOCK_KEY = 0x6f7267; // "org"

export interface NewMembershipEvent {
  type: MembershipEventType;
  organizationId: string;
  userId: string;
  membershipId: string;
  actor: string;
  role: OrganizationRole | null;
  status: UserStatus | null;
  previousRole: OrganizationRole | null;
  previousStatus: UserStatus | null;
  teamIds: string[] | null;
  previousTeamIds: string[] | null;
}

export interface MembershipEventRecord extends NewMembershipEvent {
  /** Decimal string of a bigint; compare with `compareEventIds`. */
  id: string;
  occurredAt: Date;
}

export const compareEventIds = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

const COLUMNS = [
  'type',
  'organization_id',
  'user_id',
  'membership_id',
  'actor',
  'role',
  'status',
  'previous_role',
  'previous_status',
  'team_ids',
  'previous_team_ids',
  'occurred_at',
] as const;

// Casts: the rows come through a select, where untyped literals would be text.
const CASTS: Record<(typeof COLUMNS)[number], string> = {
  type: '',
  organization_id: '',
  user_id: '',
  membership_id: '',
  actor: '',
  role: '',
  status: '',
  previous_role: '',
  previous_status: '',
  team_ids: '::jsonb',
  previous_team_ids: '::jsonb',
  occurred_at: '::timestamptz',
};
const ROW = `(${COLUMNS.map((c) => `?${CASTS[c]}`).join(', ')})`;

/**
 * The append as two CTEs of a statement: `append_lock` takes the lock (after every row of
 * the CTE named `after`, when given, is written), `appended` inserts the events and
 * returns their ids. Compose with `APPENDED_AND_NOTIFY` as the statement's main select.
 */
export const appendEventsCtes = (events: readonly NewMembershipEvent[], now: Date, after?: string): Cte[] => {
  const params: unknown[] = [];
  for (const e of events)
    params.push(
      e.type,
      e.organizationId,
      e.userId,
      e.membershipId,
      e.actor,
      e.role,
      e.status,
      e.previousRole,
      e.previousStatus,
      e.teamIds === null ? null : JSON.stringify(e.teamIds),
      e.previousTeamIds === null ? null : JSON.stringify(e.previousTeamIds),
      now,
    );
  return [
    {
      name: 'append_lock',
      // count(*) reads `after` to its end: all of its rows are written before the lock.
      body: after ? `select pg_advisory_xact_lock(?) from (select count(*) from ${after}) written` : 'select pg_advisory_xact_lock(?)',
      params: [APPEND_LOCK_KEY],
      materialized: true,
    },
    {
      name: 'appended',
      body:
        `insert into membership_events (${COLUMNS.join(', ')}) select v.* from append_lock cross join (values ${events.map(() => ROW).join(', ')}) ` +
        `as v(${COLUMNS.join(', ')}) returning id`,
      params,
    },
  ];
};

/**
 * The main select of an appending statement: how many events it appended, and the
 * notification PostgreSQL delivers to every instance at commit (the payload only wakes
 * readers; the log is the truth).
 */
export const APPENDED_AND_NOTIFY = { sql: "select (select count(*) from appended)::int as appended, pg_notify(?, '') as notified", params: [EVENTS_CHANNEL] } as const;

/** Appends events inside the caller's transaction (one round trip) and wakes listeners at commit. */
export const appendEvents = async (em: Em, events: readonly NewMembershipEvent[], now: Date): Promise<void> => {
  if (events.length === 0) return;
  const { sql, params } = withCtes(appendEventsCtes(events, now), APPENDED_AND_NOTIFY.sql, APPENDED_AND_NOTIFY.params);
  await em.execute(sql, params);
};

interface EventRow {
  id: string | number | bigint;
  type: MembershipEventType;
  organization_id: string;
  user_id: string;
  membership_id: string;
  actor: string;
  role: OrganizationRole | null;
  status: UserStatus | null;
  previous_role: OrganizationRole | null;
  previous_status: UserStatus | null;
  team_ids: string[] | string | null;
  previous_team_ids: string[] | string | null;
  occurred_at: Date | string;
}

const json = (v: string[] | string | null): string[] | null => (typeof v === 'string' ? (JSON.parse(v) as string[]) : v);

const toRecord = (r: EventRow): MembershipEventRecord => ({
  id: String(r.id),
  type: r.type,
  organizationId: r.organization_id,
  userId: r.user_id,
  membershipId: r.membership_id,
  actor: r.actor,
  role: r.role,
  status: r.status,
  previousRole: r.previous_role,
  previousStatus: r.previous_status,
  teamIds: json(r.team_ids),
  previousTeamIds: json(r.previous_team_ids),
  occurredAt: new Date(r.occurred_at),
});

export interface ReadEventsFilter {
  after: string;
  organizationId?: string | undefined;
  userId?: string | undefined;
  /** Only these types (with `organizationId`); each is read as its own index range. */
  types?: readonly MembershipEventType[] | undefined;
  limit: number;
}

/** Committed events with id > after, in id order. */
export const readEventsAfter = async (em: Em, f: ReadEventsFilter): Promise<MembershipEventRecord[]> => {
  const where = ['id > ?'];
  const params: unknown[] = [f.after];
  if (f.organizationId !== undefined) {
    where.push('organization_id = ?');
    params.push(f.organizationId);
  }
  if (f.userId !== undefined) {
    where.push('user_id = ?');
    params.push(f.userId);
  }
  let sql = `select * from membership_events where ${where.join(' and ')} order by id limit ?`;
  if (f.types !== undefined) {
    // One ordered, limited range of the (organization_id, type, id) index per type, merged:
    // a rare type costs no scan over the others (docs/audit-log.md).
    if (f.types.length === 0) return [];
    const branches = f.types.map(() => `(select * from membership_events where ${where.join(' and ')} and type = ? order by id limit ?)`);
    sql = `select * from (${branches.join(' union all ')}) e order by id limit ?`;
    const base = params.splice(0);
    for (const type of f.types) params.push(...base, type, f.limit);
  }
  params.push(f.limit);
  const rows = await em.execute<EventRow[]>(sql, params);
  return rows.map(toRecord);
};

export const latestEventId = async (em: Em): Promise<string> => {
  const [row] = await em.execute<{ id: string | null }[]>('select max(id)::text as id from membership_events');
  return row?.id ?? '0';
};
