/**
 * The one writer of memberships and team memberships. Every change to a membership,
 * from any path (GraphQL, SAML, SCIM, JIT, CLI), goes through here, so every change
 * records exactly one membership event in the same transaction.
 *
 * Two forms, one event shape (`eventOf`):
 * - `MembershipWriter`, on a unit of work: entity changes flushed by the ORM, events
 *   appended at the end of `tx.run`;
 * - `joinStatement`, set-based: a join as CTEs (membership insert, events under the append
 *   lock) that a caller composes with its own inserts into ONE statement for
 *   `tx.statement`. It exists for SCIM `POST /Users` at IdP provisioning rates: a new
 *   identity's user, membership, scim_users row and events in one round trip and one
 *   implicit transaction, instead of ~8 round trips and the ORM's unit of work.
 */
import type { Cte } from '../../persistence/cte.js';
import type { Loaded } from '@mikro-orm/core';
import { Membership, type MembershipEntity, type OrganizationEntity, type TeamEntity, TeamMember, type TeamMemberEntity, type UserEntity } from '../../persistence/entities.js';
import { appendEventsCtes, type NewMembershipEvent } from '../events/event-log.js';
import type { MembershipEventType, MembershipSource, OrganizationRole, UserStatus } from '../model/index.js';
import { newId } from '../runtime.js';
import type { UnitOfWork } from '../unit-of-work.js';

export interface NewMembership {
  role: OrganizationRole;
  status: UserStatus;
  source: MembershipSource;
}

export interface TeamAssignment {
  team: TeamEntity;
  source: MembershipSource;
}

interface MembershipState {
  id: string;
  organizationId: string;
  userId: string;
  role: OrganizationRole;
  status: UserStatus;
}

type EventChange = Partial<Omit<NewMembershipEvent, 'type' | 'actor'>>;

/**
 * One event about `m` as it is now; `change` gives what differs from the defaults
 * (the membership's current role and status, before and after, no team lists).
 */
const eventOf = (m: MembershipState, type: MembershipEventType, change: EventChange = {}): Omit<NewMembershipEvent, 'actor'> => ({
  type,
  organizationId: m.organizationId,
  userId: m.userId,
  membershipId: m.id,
  role: m.role,
  status: m.status,
  previousRole: m.role,
  previousStatus: m.status,
  teamIds: null,
  previousTeamIds: null,
  ...change,
});

const JOINED: EventChange = { previousRole: null, previousStatus: null, teamIds: [] };

export class MembershipWriter {
  constructor(private readonly uow: UnitOfWork) {}

  private record(m: MembershipEntity, type: MembershipEventType, change: EventChange = {}): void {
    this.uow.recordEvent(eventOf({ id: m.id, organizationId: m.organization.id, userId: m.user.id, role: m.role, status: m.status }, type, change));
  }

  join(user: UserEntity, organization: OrganizationEntity, init: NewMembership): MembershipEntity {
    const m = this.uow.em.create(Membership, {
      id: newId('mem'),
      user,
      organization,
      role: init.role,
      status: init.status,
      source: init.source,
      createdAt: this.uow.now,
      updatedAt: this.uow.now,
    });
    this.record(m, 'JOINED', JOINED);
    return m;
  }

  /** Records ROLE_CHANGED when the role differs; returns whether it changed. */
  setRole(m: MembershipEntity, role: OrganizationRole): boolean {
    if (m.role === role) return false;
    const previousRole = m.role;
    m.role = role;
    m.updatedAt = this.uow.now;
    this.record(m, 'ROLE_CHANGED', { previousRole });
    return true;
  }

  /** Records STATUS_CHANGED when the status differs. The caller has checked the transition. */
  setStatus(m: MembershipEntity, status: UserStatus): boolean {
    if (m.status === status) return false;
    const previousStatus = m.status;
    m.status = status;
    m.updatedAt = this.uow.now;
    this.record(m, 'STATUS_CHANGED', { previousStatus });
    return true;
  }

  /** Not an event: a visit changes neither role, status nor teams. */
  recordVisit(m: MembershipEntity): void {
    m.lastVisitedAt = this.uow.now;
  }

  /**
   * Not an event: who manages the membership from now on (e.g. SAML takes over a
   * membership whose role the IdP asserts). Role, status and team changes have their own events.
   */
  setSource(m: MembershipEntity, source: MembershipSource): void {
    if (m.source === source) return;
    m.source = source;
    m.updatedAt = this.uow.now;
  }

  async teamIdsOf(m: MembershipEntity): Promise<string[]> {
    const rows = await this.uow.em.find(TeamMember, { membership: m }, { populate: ['team'] });
    return rows.map((r) => r.team.$.teamId).sort();
  }

  /**
   * Adds and removes team memberships of one membership; one TEAMS_CHANGED event
   * when anything changed. Adding a team the member already has keeps its source.
   */
  async changeTeams(m: MembershipEntity, add: readonly TeamAssignment[], removeTeamKeys: readonly string[]): Promise<boolean> {
    return (await this.changeTeamsOfMany([m], add, removeTeamKeys))[0]!;
  }

  /**
   * changeTeams for many memberships, reading their team memberships in one statement: a read
   * per membership made each later one flush-check every entity loaded so far (a call with
   * 1,000 members cost seconds). Events in the order of `memberships`.
   */
  async changeTeamsOfMany(memberships: readonly MembershipEntity[], add: readonly TeamAssignment[], removeTeamKeys: readonly string[]): Promise<boolean[]> {
    const rows = memberships.length ? await this.uow.em.find(TeamMember, { membership: { $in: memberships.map((m) => m.id) } }, { populate: ['team'] }) : [];
    const byMembership = new Map<string, Loaded<TeamMemberEntity, 'team'>[]>();
    for (const r of rows) {
      const list = byMembership.get(r.membership.id);
      if (list) list.push(r);
      else byMembership.set(r.membership.id, [r]);
    }
    return memberships.map((m) => this.applyTeams(m, byMembership.get(m.id) ?? [], add, removeTeamKeys));
  }

  private applyTeams(m: MembershipEntity, current: readonly Loaded<TeamMemberEntity, 'team'>[], add: readonly TeamAssignment[], removeTeamKeys: readonly string[]): boolean {
    const em = this.uow.em;
    const before = current.map((r) => r.team.$.teamId).sort();
    const remove = new Set(removeTeamKeys);
    const kept = current.filter((r) => !remove.has(r.team.$.key));
    for (const r of current) if (remove.has(r.team.$.key)) em.remove(r);
    const have = new Set(kept.map((r) => r.team.$.key));
    const after = kept.map((r) => r.team.$.teamId);
    for (const a of add) {
      if (have.has(a.team.key)) continue;
      have.add(a.team.key);
      em.create(TeamMember, { id: newId('tmm'), team: a.team, membership: m, source: a.source, createdAt: this.uow.now });
      after.push(a.team.teamId);
    }
    after.sort();
    if (before.join('\n') === after.join('\n')) return false;
    m.updatedAt = this.uow.now;
    this.record(m, 'TEAMS_CHANGED', { teamIds: after, previousTeamIds: before });
    return true;
  }

  /** Records TEAMS_CHANGED for every member of a team about to be deleted. */
  async teamDeleted(team: TeamEntity): Promise<void> {
    const em = this.uow.em;
    const members = await em.find(TeamMember, { team }, { populate: ['membership'] });
    if (members.length === 0) return;
    const all = await em.find(TeamMember, { membership: { $in: members.map((r) => r.membership.id) } }, { populate: ['team'] });
    for (const r of members) {
      const m = r.membership.$;
      const before = all.filter((x) => x.membership.id === m.id).map((x) => x.team.$.teamId).sort();
      const after = before.filter((id) => id !== team.teamId);
      m.updatedAt = this.uow.now;
      this.record(m, 'TEAMS_CHANGED', { teamIds: after, previousTeamIds: before });
    }
  }

  /** Removes the membership (its team memberships go with it). */
  leave(m: MembershipEntity): void {
    this.record(m, 'LEFT', { role: null, status: null });
    this.uow.em.remove(m);
  }
}

export const membershipWriter = (uow: UnitOfWork): MembershipWriter => new MembershipWriter(uow);

export interface JoinInStatement {
  /** The membership as the statement inserts it. */
  membership: MembershipState & { source: MembershipSource; createdAt: Date };
  /** `joined`: inserts the membership once per row of the caller's `gate` CTE (one row), returning its id. */
  membershipCte: Cte;
  /** The events, appended once every row of the CTE `after` is written (the statement's last write). */
  eventCtes(after: string): Cte[];
  /** How many events the statement appends. */
  eventCount: number;
}

/**
 * The set-based `join` (see the top of this file), with `setStatus(status)` right after
 * when `status` differs from `init.status` (the caller has checked the transition): the
 * same row and the same events (JOINED, then STATUS_CHANGED) as the unit-of-work form.
 * `gate` names a CTE of the caller's statement with one row (e.g. the user insert): the
 * membership is written only when that row is.
 */
export const joinStatement = (j: {
  membershipId: string;
  userId: string;
  organizationId: string;
  init: NewMembership;
  status?: UserStatus;
  actor: string;
  now: Date;
  gate: string;
}): JoinInStatement => {
  const joined: MembershipState = { id: j.membershipId, organizationId: j.organizationId, userId: j.userId, role: j.init.role, status: j.init.status };
  const events: Omit<NewMembershipEvent, 'actor'>[] = [eventOf(joined, 'JOINED', JOINED)];
  const status = j.status ?? j.init.status;
  if (status !== j.init.status) events.push(eventOf({ ...joined, status }, 'STATUS_CHANGED', { previousStatus: j.init.status }));
  return {
    membership: { ...joined, status, source: j.init.source, createdAt: j.now },
    membershipCte: {
      name: 'joined',
      body:
        'insert into memberships (id, user_id, organization_id, role, status, source, last_visited_at, created_at, updated_at) ' +
        `select ?, ?, ?, ?, ?, ?, null, ?::timestamptz, ?::timestamptz from ${j.gate} returning id`,
      params: [j.membershipId, j.userId, j.organizationId, j.init.role, status, j.init.source, j.now, j.now],
    },
    eventCtes: (after) => appendEventsCtes(events.map((e) => ({ ...e, actor: j.actor })), j.now, after),
    eventCount: events.length,
  };
};
