/**
 * The append-only membership event log. Design and proof: docs/events.md.
 *
 * No writer lock. An event's id is its transaction's id, shifted, plus its place in the
 * transaction: `(pg_current_xact_id() << 20) + n`. Readers read only below the horizon
 * `pg_snapshot_xmin(pg_current_snapshot()) << 20`, taken in the reading statement: every
 * transaction with an xid below the snapshot's xmin has ended (committed or rolled back)
 * and any transaction that ends later has an xid at or above it, so the events below the
 * horizon are final and every event that becomes readable later has a higher id. Reading
 * `id > after` below the horizon, in id order, is therefore gap-free and duplicate-free,
 * and ids increase in the order readers see them. Writers in different organizations never
 * wait for each other, and their commits share WAL flushes (group commit).
 * The notification that wakes readers is sent after commit, outside the transaction
 * (`CommitNotifier`); a lost one costs at most the hub's poll interval.
 */
import { type Cte, withCtes } from '../../persistence/cte.js';
import type { Em, SqlRunner } from '../../persistence/orm.js';
import type { MembershipEventType, OrganizationRole, UserStatus } from '../model/index.js';

export const EVENTS_CHANNEL = 'orgway_membership_events';

/** Bits of an event id below its transaction id: at most 2^20 events per transaction. */
const TX_SHIFT = 20;
const MAX_EVENTS_PER_TRANSACTION = 2 ** TX_SHIFT;
/** The reading statement's horizon: ids below it are final. */
const HORIZON = `(pg_snapshot_xmin(pg_current_snapshot())::text::bigint << ${TX_SHIFT})`;

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

/**
 * The append as two CTEs of a statement: `event_base` finds the first free id of this
 * transaction's range (after every row of the CTE named `after`, when given, is written),
 * `appended` inserts the events and returns their ids. Compose with `APPENDED` as the
 * statement's main select.
 */
export const appendEventsCtes = (events: readonly NewMembershipEvent[], now: Date, after?: string): Cte[] => {
  if (events.length > MAX_EVENTS_PER_TRANSACTION) throw new Error(`At most ${MAX_EVENTS_PER_TRANSACTION} membership events per transaction.`);
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
  // The ordinal is written into the text (a number from the code): the text depends only on the count.
  const rows = events.map((_, i) => `(${COLUMNS.map((c) => `?${CASTS[c]}`).join(', ')}, ${i})`).join(', ');
  return [
    {
      name: 'event_base',
      // This transaction's range; an earlier append in the same transaction took its start.
      body:
        `select coalesce((select max(id) + 1 from membership_events where id >= r.lo and id < r.lo + ${MAX_EVENTS_PER_TRANSACTION}), r.lo) as first ` +
        `from (select pg_current_xact_id()::text::bigint << ${TX_SHIFT} as lo${after ? ` from (select count(*) from ${after}) written` : ''}) r`,
      params: [],
      materialized: true,
    },
    {
      name: 'appended',
      body:
        `insert into membership_events (id, ${COLUMNS.join(', ')}) select b.first + v.n, ${COLUMNS.map((c) => `v.${c}`).join(', ')} ` +
        `from event_base b cross join (values ${rows}) as v(${COLUMNS.join(', ')}, n) returning id`,
      params,
    },
  ];
};

/** The main select of an appending statement: how many events it appended. */
export const APPENDED = { sql: 'select (select count(*) from appended)::int as appended', params: [] } as const;

/** Appends events inside the caller's transaction (one round trip); readers are woken after commit. */
export const appendEvents = async (em: Em, events: readonly NewMembershipEvent[], now: Date): Promise<void> => {
  if (events.length === 0) return;
  const { sql, params } = withCtes(appendEventsCtes(events, now), APPENDED.sql, APPENDED.params);
  await em.execute(sql, params);
};

/**
 * Wakes every instance's readers after commits that appended events: `pg_notify` as its
 * own statement, never inside the writing transaction (whose commit would then hold
 * PostgreSQL's global notify lock). Concurrent commits share one notification; a lost one
 * (a crash right after commit) is made up by the readers' periodic poll.
 */
export class CommitNotifier {
  #sending: Promise<void> | undefined;
  #again = false;
  #closed = false;
  constructor(
    private readonly sql: SqlRunner,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  notify(): void {
    if (this.#closed) return;
    if (this.#sending) {
      this.#again = true;
      return;
    }
    this.#sending = this.sql
      .execute('select pg_notify(?, \'\')', [EVENTS_CHANNEL])
      .then(
        () => undefined,
        (error: unknown) => this.onError(error),
      )
      .finally(() => {
        this.#sending = undefined;
        if (this.#again) {
          this.#again = false;
          this.notify();
        }
      });
  }

  /**
   * Lets the pending notification go out (each send is bounded by the database deadlines),
   * then sends no more: called before the pool closes, which would leave a send waiting on it.
   */
  async close(): Promise<void> {
    while (this.#sending) await this.#sending;
    this.#closed = true;
  }
}

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

/** Where events are read from: an EntityManager or the pool's raw runner. */
export type EventSource = Pick<SqlRunner, 'execute'> | Em;

const run = <T>(db: EventSource, sql: string, params: unknown[]): Promise<T> => (db as Pick<SqlRunner, 'execute'>).execute<T>(sql, params);

export interface EventPage {
  /** Final events with id > after, in id order (at most `limit`). */
  events: MembershipEventRecord[];
  /** Committed events exist above the horizon (an older transaction is still running): read again soon. */
  settling: boolean;
}

/**
 * THE way to read the log ("events after id, safely"): events with id > `after`, in id
 * order, that are final: no event with an id at or below the last one returned can become
 * readable later. A cursor that stores the last id it processed and calls this again with
 * it sees every event exactly once, in id order, across instances and restarts (SPEC §4
 * `after`; docs/events.md). An event committed moments ago may come one read later, when
 * every transaction that started before it has ended (`settling` says so).
 */
export const readEventPage = async (db: EventSource, f: ReadEventsFilter): Promise<EventPage> => {
  const where = ['e.id > ?', 'e.id < h.horizon'];
  const params: unknown[] = [f.after];
  if (f.organizationId !== undefined) {
    where.push('e.organization_id = ?');
    params.push(f.organizationId);
  }
  if (f.userId !== undefined) {
    where.push('e.user_id = ?');
    params.push(f.userId);
  }
  let page = `select e.* from membership_events e where ${where.join(' and ')} order by e.id limit ?`;
  let pageParams = [...params, f.limit];
  if (f.types !== undefined) {
    // One ordered, limited range of the (organization_id, type, id) index per type, merged:
    // a rare type costs no scan over the others (docs/audit-log.md).
    if (f.types.length === 0) return { events: [], settling: false };
    const branches = f.types.map(() => `(select e.* from membership_events e where ${where.join(' and ')} and e.type = ? order by e.id limit ?)`);
    page = `select t.* from (${branches.join(' union all ')}) t order by t.id limit ?`;
    pageParams = [];
    for (const type of f.types) pageParams.push(...params, type, f.limit);
    pageParams.push(f.limit);
  }
  // One statement, so the horizon and the rows come from one snapshot.
  const rows = await run<(Partial<EventRow> & { settling: boolean })[]>(
    db,
    `with h as materialized (select ${HORIZON} as horizon)
     select page.*, coalesce((select max(id) from membership_events) >= h.horizon, false) as settling
       from h left join lateral (${page}) page on true`,
    pageParams,
  );
  const settling = rows[0]?.settling === true;
  return { events: rows.filter((r) => r.id !== null && r.id !== undefined).map((r) => toRecord(r as EventRow)), settling };
};

/** `readEventPage`'s events: final events with id > after, in id order. */
export const readEventsAfter = async (db: EventSource, f: ReadEventsFilter): Promise<MembershipEventRecord[]> => (await readEventPage(db, f)).events;

/** The id of the newest final event ('0' for an empty log): where a live-only reader starts. */
export const latestEventId = async (db: EventSource): Promise<string> => {
  const [row] = await run<{ id: string | null }[]>(db, `select max(id)::text as id from membership_events where id < ${HORIZON}`, []);
  return row?.id ?? '0';
};

/** SQL for the newest final event id as a scalar subquery (for statements that read it with other rows). */
export const LATEST_EVENT_ID_SQL = `(select coalesce(max(id), 0)::text from membership_events where id < ${HORIZON})`;

/**
 * SQL for the ids of events this statement's snapshot sees committed but that are not final
 * yet (at or above the horizon: an older transaction was still running), for one
 * organization or user (`column` = ?), as a JSON array. A subscription taken at this snapshot
 * treats them as already in the past although their ids are above its position.
 */
export const COMMITTED_BEYOND_HORIZON_SQL = (column: 'organization_id' | 'user_id') =>
  `(select coalesce(json_agg(id::text order by id), '[]'::json) from membership_events where id >= ${HORIZON} and ${column} = ?)`;
