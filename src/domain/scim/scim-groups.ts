/**
 * SCIM Groups = teams of one organization (SPEC §1, §3).
 *
 * Members must be users of this organization. Team memberships SCIM adds have source
 * SCIM. SCIM changes (remove, replace) never touch team memberships of source SAML:
 * those follow the user's SAML assertions (SPEC §2 step 4), so a SAML-assigned member
 * stays in the team whatever the IdP's SCIM client sends. Every other team membership
 * (SCIM, and MANUAL ones an admin added) follows the group as SCIM describes it.
 * Deleting a Group deletes the team.
 */
import { LockMode } from '@mikro-orm/core';
import { Team, type TeamEntity } from '../../persistence/entities.js';
import type { Em, SqlRunner } from '../../persistence/orm.js';
import { membershipWriter } from '../membership/membership-writer.js';
import { checkName, DomainError, type ErrorDetails } from '../model/index.js';
import { findTeam, insertTeam, membersOf } from '../team/team-service.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';
import { groupFilterSql, type SqlFragment } from './filter-sql.js';
import {
  type GroupFilter,
  type ListQuery,
  type ListResult,
  SCIM_MAX_MEMBER_CHANGES,
  scimError,
  type ScimGroupInput,
  type ScimGroupMember,
  type ScimGroupView,
  type ScimPrincipal,
} from './types.js';
import { dateFromDb } from '../../persistence/timestamps.js';

export type GroupChange = ScimGroupInput | ((current: ScimGroupView) => ScimGroupInput);

export const groupNotFound = (id: string, organizationId: string) =>
  scimError('NOT_FOUND', null, `Group "${id}" was not found in this organization (${organizationId}).`, { id });

interface TeamRow {
  key: string;
  team_id: string;
  organization_id: string;
  name: string;
  external_id: string | null;
  created_at: unknown;
  updated_at: unknown;
}

const date = dateFromDb;

const teamRowView = (r: TeamRow, members: ScimGroupMember[] | undefined): ScimGroupView => ({
  id: r.team_id,
  key: r.key,
  organizationId: r.organization_id,
  displayName: r.name,
  externalId: r.external_id,
  members,
  createdAt: date(r.created_at),
  updatedAt: date(r.updated_at),
});

/** Members of the given teams, in one statement. */
const membersByTeam = async (em: SqlRunner, teamKeys: readonly string[]): Promise<Map<string, ScimGroupMember[]>> => {
  const out = new Map<string, ScimGroupMember[]>();
  if (teamKeys.length === 0) return out;
  const rows = await em.execute<{ team_key: string; user_id: string; email: string; display_name: string | null; source: string }[]>(
    `select tm.team_key, m.user_id, u.email, u.display_name, tm.source
       from team_members tm join memberships m on m.id = tm.membership_id join users u on u.id = m.user_id
      where tm.team_key in (select jsonb_array_elements_text(?::jsonb)) order by m.user_id`,
    [JSON.stringify(teamKeys)],
  );
  for (const r of rows) {
    const list = out.get(r.team_key) ?? [];
    list.push({ userId: r.user_id, display: r.display_name ?? r.email, source: r.source });
    out.set(r.team_key, list);
  }
  return out;
};

const loadGroupViews = async (
  em: SqlRunner,
  organizationId: string,
  where: SqlFragment | null,
  page: { limit: number; offset: number },
  withMembers: boolean,
): Promise<ScimGroupView[]> => {
  if (page.limit <= 0) return [];
  const rows = await em.execute<TeamRow[]>(
    `select t.key, t.team_id, t.organization_id, t.name, t.external_id, t.created_at, t.updated_at from teams t
      where t.organization_id = ?${where ? ` and ${where.sql}` : ''} order by t.created_at, t.key limit ? offset ?`,
    [organizationId, ...(where?.params ?? []), page.limit, page.offset],
  );
  const members = withMembers ? await membersByTeam(em, rows.map((r) => r.key)) : null;
  return rows.map((r) => teamRowView(r, members ? (members.get(r.key) ?? []) : undefined));
};

const loadGroupView = async (em: SqlRunner, organizationId: string, id: string, withMembers: boolean): Promise<ScimGroupView | null> =>
  (await loadGroupViews(em, organizationId, { sql: 't.team_id = ?', params: [id] }, { limit: 1, offset: 0 }, withMembers))[0] ?? null;

const checkDisplayName = (name: string): string => {
  try {
    return checkName(name, 'displayName');
  } catch (error) {
    if (error instanceof DomainError) throw scimError('BAD_USER_INPUT', 'invalidValue', error.message, error.details);
    throw error;
  }
};

const checkExternalId = (externalId: string | null): string | null => {
  if (externalId === null || externalId === '') return null;
  if (externalId.length > 255) throw scimError('BAD_USER_INPUT', 'invalidValue', `externalId must be at most 255 characters (got ${externalId.length}).`, { field: 'externalId' });
  return externalId;
};

const uniqueness = (message: string, details: ErrorDetails) => scimError('CONFLICT', 'uniqueness', message, details);

const checkExternalIdFree = async (em: Em, organizationId: string, externalId: string | null, exceptKey: string | null) => {
  if (externalId === null) return;
  const other = await em.findOne(Team, { organization: organizationId, externalId });
  if (other && other.key !== exceptKey) throw uniqueness(`externalId "${externalId}" is already used by group "${other.teamId}" in this organization.`, { field: 'externalId', id: other.teamId });
};

export class ScimGroupService {
  constructor(private readonly tx: TransactionRunner) {}

  async list(principal: ScimPrincipal, query: ListQuery<GroupFilter>, withMembers: boolean): Promise<ListResult<ScimGroupView>> {
    const where = query.filter ? groupFilterSql(query.filter) : null;
    const em = this.tx.sql;
    const rows = await em.execute<{ n: string | number }[]>(
      `select count(*) as n from teams t where t.organization_id = ?${where ? ` and ${where.sql}` : ''}`,
      [principal.organizationId, ...(where?.params ?? [])],
    );
    const totalResults = Number(rows[0]?.n ?? 0);
    const offset = query.startIndex - 1;
    const items =
      offset < totalResults ? await loadGroupViews(em, principal.organizationId, where, { limit: query.count, offset }, withMembers) : [];
    return { totalResults, startIndex: query.startIndex, items };
  }

  async get(principal: ScimPrincipal, id: string, withMembers: boolean): Promise<ScimGroupView> {
    const v = await loadGroupView(this.tx.sql, principal.organizationId, id, withMembers);
    if (!v) throw groupNotFound(id, principal.organizationId);
    return v;
  }

  /** POST /Groups: a new team (id generated), with its members (source SCIM). */
  create(principal: ScimPrincipal, input: ScimGroupInput, withMembers = true): Promise<ScimGroupView> {
    const displayName = checkDisplayName(input.displayName);
    const externalId = checkExternalId(input.externalId);
    return this.tx.run({ kind: 'scim', tokenId: principal.tokenId }, async (uow) => {
      const organizationId = principal.organizationId;
      await checkExternalIdFree(uow.em, organizationId, externalId, null);
      const team = await insertTeam(uow, organizationId, { name: displayName, externalId });
      await this.changeMembers(uow, team, [], input.members ?? []);
      await uow.em.flush();
      return (await loadGroupView(uow.em, organizationId, team.teamId, withMembers))!;
    });
  }

  /** PUT (a full replacement) and PATCH (a function of the current Group, members included). */
  replace(principal: ScimPrincipal, id: string, change: GroupChange, withMembers = true): Promise<ScimGroupView> {
    return this.tx.run({ kind: 'scim', tokenId: principal.tokenId }, async (uow) => {
      const em = uow.em;
      const organizationId = principal.organizationId;
      const team = await em.findOne(Team, { organization: organizationId, teamId: id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!team) throw groupNotFound(id, organizationId);
      const current = (await loadGroupView(em, organizationId, id, true))!;
      const wanted = typeof change === 'function' ? change(current) : change;
      const displayName = checkDisplayName(wanted.displayName);
      const externalId = checkExternalId(wanted.externalId);
      if (externalId !== current.externalId) await checkExternalIdFree(em, organizationId, externalId, team.key);
      if (displayName !== team.name || externalId !== (team.externalId ?? null)) {
        team.name = displayName;
        team.externalId = externalId;
        team.updatedAt = uow.now;
      }
      if (wanted.members !== undefined) await this.changeMembers(uow, team, current.members ?? [], wanted.members);
      await em.flush();
      return (await loadGroupView(em, organizationId, id, withMembers))!;
    });
  }

  /** DELETE /Groups/{id}: the team is deleted; its members lose it (TEAMS_CHANGED each). */
  remove(principal: ScimPrincipal, id: string): Promise<void> {
    return this.tx.run({ kind: 'scim', tokenId: principal.tokenId }, async (uow) => {
      const team = await findTeam(uow, principal.organizationId, id).catch((error: unknown) => {
        if (error instanceof DomainError && error.code === 'NOT_FOUND') throw groupNotFound(id, principal.organizationId);
        throw error;
      });
      await membershipWriter(uow).teamDeleted(team);
      uow.em.remove(team);
    });
  }

  /**
   * Makes the team's members `wanted`: adds the missing ones (source SCIM) and removes
   * the others, except team memberships of source SAML, which SCIM never touches.
   */
  private async changeMembers(uow: UnitOfWork, team: TeamEntity, current: readonly ScimGroupMember[], wanted: readonly string[]): Promise<void> {
    const want = new Set(wanted);
    const have = new Map(current.map((m) => [m.userId, m]));
    const add = [...want].filter((id) => !have.has(id));
    const remove = current.filter((m) => !want.has(m.userId) && m.source !== 'SAML').map((m) => m.userId);
    if (add.length + remove.length === 0) return;
    if (add.length + remove.length > SCIM_MAX_MEMBER_CHANGES)
      throw scimError('BAD_USER_INPUT', 'tooMany', `At most ${SCIM_MAX_MEMBER_CHANGES} member changes per request (this one makes ${add.length + remove.length}); split it.`, {
        field: 'members',
      });
    const organizationId = team.organization.id;
    const adding = !add.length ? [] : await membersOf(uow, organizationId, add).catch((error: unknown) => {
      if (error instanceof DomainError && error.code === 'NOT_FOUND')
        throw scimError(
          'BAD_USER_INPUT',
          'invalidValue',
          `members must be users of this organization; not members: ${((error.details.missing as string[] | undefined) ?? []).slice(0, 10).join(', ')}.`,
          { field: 'members', missing: error.details.missing },
        );
      throw error;
    });
    const removing = remove.length ? await membersOf(uow, organizationId, remove) : [];
    const writer = membershipWriter(uow);
    // One order (by membership id) for every transaction that changes several members,
    // so two concurrent Group changes touching the same members cannot deadlock.
    const changes = [...adding.map((m) => ({ m, add: true })), ...removing.map((m) => ({ m, add: false }))].sort((x, y) => (x.m.id < y.m.id ? -1 : 1));
    for (const { m, add: isAdd } of changes) {
      if (isAdd) await writer.changeTeams(m, [{ team, source: 'SCIM' }], []);
      else await writer.changeTeams(m, [], [team.key]);
    }
    team.updatedAt = uow.now;
  }
}
