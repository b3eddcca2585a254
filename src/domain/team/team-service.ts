/** Teams (user groups) of one organization and their members. */
import { randomBytes } from 'node:crypto';
import { Membership, type MembershipEntity, Team, type TeamEntity } from '../../persistence/entities.js';
import { type Principal, requireAccess } from '../access.js';
import { membershipWriter } from '../membership/membership-writer.js';
import { badInput, checkName, checkPolicies, checkTeamId, DomainError, type MembershipSource } from '../model/index.js';
import { newId } from '../runtime.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';

export interface NewTeamInput {
  id?: string | null;
  name: string;
  policies?: string[] | null;
  externalId?: string | null;
}

export interface TeamPatch {
  name?: string | null;
  policies?: string[] | null;
}

const MAX_MEMBERS_PER_CALL = 1000;

export const teamNotFound = (teamId: string, organizationId: string) =>
  new DomainError('NOT_FOUND', `Team "${teamId}" was not found in organization "${organizationId}".`, { teamId, organizationId });

export const findTeam = async (uow: UnitOfWork, organizationId: string, teamId: string): Promise<TeamEntity> => {
  const team = await uow.em.findOne(Team, { organization: organizationId, teamId });
  if (!team) throw teamNotFound(teamId, organizationId);
  return team;
};

/** Creates a team row; the id is generated (`ugr-xxxxxxxx`) unless given. */
export const insertTeam = async (uow: UnitOfWork, organizationId: string, input: NewTeamInput): Promise<TeamEntity> => {
  const teamId = input.id == null ? `ugr-${randomBytes(4).toString('hex')}` : checkTeamId(input.id, 'id');
  if ((await uow.em.count(Team, { organization: organizationId, teamId })) > 0)
    throw new DomainError('CONFLICT', `Team id "${teamId}" already exists in organization "${organizationId}"; choose another id.`, { field: 'id' });
  return uow.em.create(Team, {
    key: newId('team'),
    organization: organizationId,
    teamId,
    name: checkName(input.name, 'name'),
    policies: checkPolicies(input.policies ?? []),
    externalId: input.externalId ?? null,
    createdAt: uow.now,
    updatedAt: uow.now,
  });
};

export class TeamService {
  constructor(private readonly tx: TransactionRunner) {}

  createTeam(principal: Principal, organizationId: string, input: NewTeamInput): Promise<TeamEntity> {
    return this.asAdmin(principal, organizationId, (uow) => insertTeam(uow, organizationId, input));
  }

  updateTeam(principal: Principal, organizationId: string, teamId: string, patch: TeamPatch): Promise<TeamEntity> {
    const name = patch.name == null ? null : checkName(patch.name, 'input.name');
    const policies = patch.policies == null ? null : checkPolicies(patch.policies, 'input.policies');
    if (name === null && policies === null) throw badInput('input', 'give a name, policies, or both.');
    return this.asAdmin(principal, organizationId, async (uow) => {
      const team = await findTeam(uow, organizationId, teamId);
      if (name !== null) team.name = name;
      if (policies !== null) team.policies = policies;
      team.updatedAt = uow.now;
      return team;
    });
  }

  deleteTeam(principal: Principal, organizationId: string, teamId: string): Promise<boolean> {
    return this.asAdmin(principal, organizationId, async (uow) => {
      const team = await findTeam(uow, organizationId, teamId);
      await membershipWriter(uow).teamDeleted(team);
      uow.em.remove(team);
      return true;
    });
  }

  addTeamMembers(principal: Principal, organizationId: string, teamId: string, userIds: string[]): Promise<TeamEntity> {
    return this.changeMembers(principal, organizationId, teamId, userIds, 'add');
  }

  removeTeamMembers(principal: Principal, organizationId: string, teamId: string, userIds: string[]): Promise<TeamEntity> {
    return this.changeMembers(principal, organizationId, teamId, userIds, 'remove');
  }

  private changeMembers(principal: Principal, organizationId: string, teamId: string, userIds: string[], op: 'add' | 'remove', source: MembershipSource = 'MANUAL') {
    const ids = [...new Set(userIds)];
    if (ids.length === 0) throw badInput('userIds', 'give at least one user id.');
    if (ids.length > MAX_MEMBERS_PER_CALL) throw badInput('userIds', `at most ${MAX_MEMBERS_PER_CALL} users per call.`);
    return this.asAdmin(principal, organizationId, async (uow) => {
      const team = await findTeam(uow, organizationId, teamId);
      const memberships = await membersOf(uow, organizationId, ids);
      const writer = membershipWriter(uow);
      // Membership id order, as SCIM Group changes use: two concurrent changes touching the same members cannot deadlock.
      const ordered = [...memberships].sort((x, y) => (x.id < y.id ? -1 : 1));
      if (op === 'add') await writer.changeTeamsOfMany(ordered, [{ team, source }], []);
      else await writer.changeTeamsOfMany(ordered, [], [team.key]);
      return team;
    });
  }

  private asAdmin<T>(principal: Principal, organizationId: string, fn: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      return fn(uow);
    });
  }
}

/** The memberships of these users in the organization; any user who is not a member is NOT_FOUND. */
export const membersOf = async (uow: UnitOfWork, organizationId: string, userIds: string[]): Promise<MembershipEntity[]> => {
  const found = await uow.em.find(Membership, { organization: organizationId, user: { $in: userIds } });
  if (found.length !== userIds.length) {
    const have = new Set(found.map((m) => m.user.id));
    const missing = userIds.filter((id) => !have.has(id));
    throw new DomainError('NOT_FOUND', `Not members of organization "${organizationId}": ${missing.slice(0, 10).join(', ')}.`, {
      field: 'userIds',
      missing,
    });
  }
  return found;
};
