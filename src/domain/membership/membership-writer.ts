/**
 * The one writer of memberships and team memberships. Every change to a membership,
 * from any path (GraphQL, SAML, SCIM, JIT, CLI), goes through here, so every change
 * records exactly one membership event in the same transaction.
 */
import { Membership, type MembershipEntity, type OrganizationEntity, type TeamEntity, TeamMember, type UserEntity } from '../../persistence/entities.js';
import type { NewMembershipEvent } from '../events/event-log.js';
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

export class MembershipWriter {
  constructor(private readonly uow: UnitOfWork) {}

  /**
   * Records one event about `m` as it is now; `change` gives what differs from the
   * defaults (the membership's current role and status, before and after, no team lists).
   */
  private record(m: MembershipEntity, type: MembershipEventType, change: Partial<Omit<NewMembershipEvent, 'type' | 'actor'>> = {}): void {
    this.uow.recordEvent({
      type,
      organizationId: m.organization.id,
      userId: m.user.id,
      membershipId: m.id,
      role: m.role,
      status: m.status,
      previousRole: m.role,
      previousStatus: m.status,
      teamIds: null,
      previousTeamIds: null,
      ...change,
    });
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
    this.record(m, 'JOINED', { previousRole: null, previousStatus: null, teamIds: [] });
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
    const em = this.uow.em;
    const current = await em.find(TeamMember, { membership: m }, { populate: ['team'] });
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
export { Membership };
