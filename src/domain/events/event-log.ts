/**
 * The append-only membership event log.
 *
 * Ordering guarantee (what makes `after` replay gap-free): appends take a
 * transaction-scoped advisory lock *before* the ids are drawn, and hold it until
 * commit, so transactions that append commit in id order. A reader that has seen
 * event N committed has therefore seen every committed event below N.
 * The lock is taken last in the use case (after entity changes are flushed), so a
 * transaction holding it never waits on a row lock: no deadlock cycles.
 */
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

/** Appends events inside the caller's transaction and wakes listeners at commit. */
export const appendEvents = async (em: Em, events: readonly NewMembershipEvent[], now: Date): Promise<void> => {
  if (events.length === 0) return;
  await em.execute('select pg_advisory_xact_lock(?)', [APPEND_LOCK_KEY]);
  const params: unknown[] = [];
  const rows = events.map((e) => {
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
    return `(${COLUMNS.map(() => '?').join(', ')})`;
  });
  // One round trip: the insert, and the notification PostgreSQL delivers to every
  // instance at commit (the payload only wakes readers; the log is the truth).
  await em.execute(
    `with appended as (insert into membership_events (${COLUMNS.join(', ')}) values ${rows.join(', ')}) select pg_notify(?, '')`,
    [...params, EVENTS_CHANNEL],
  );
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
  params.push(f.limit);
  const rows = await em.execute<EventRow[]>(
    `select * from membership_events where ${where.join(' and ')} order by id limit ?`,
    params,
  );
  return rows.map(toRecord);
};

export const latestEventId = async (em: Em): Promise<string> => {
  const [row] = await em.execute<{ id: string | null }[]>('select max(id)::text as id from membership_events');
  return row?.id ?? '0';
};
