/**
 * The read side's batched statements, one per kind of data: each takes the keys a loader
 * gathered in one tick and answers in key order.
 */
import { canEnter, canEnterSql, type MembershipView, type OrganizationView, type TeamView, type UserStatus, type UserView } from '../../domain/model/index.js';
import { executePrepared, type SqlRunner } from '../orm.js';
import { M_COLS, MembershipFromRow, membershipFromRow, O_COLS, organizationFromRow, type Row, T_COLS, teamFromRow, U_COLS, userFromRow } from './row-views.js';
import { type AcceptsFilter, type OrganizationTeams, organizationTeams, type TeamTuple, teamsJsonSql } from './viewer-page.js';

/** Ids of the keys as a JSON array, read in SQL by jsonb_array_elements_text: one parameter, one plan for any count. */
const idList = (ids: readonly string[]): string => JSON.stringify(ids);

/** The principal's memberships in these organizations, where its scope accepts them, by organization id. */
export const readViewerMemberships = async (
  sql: SqlRunner,
  userId: string,
  organizationIds: readonly string[],
  accepts: AcceptsFilter,
): Promise<({ membership: MembershipView; organization: OrganizationView } | null)[]> => {
  const rows = await executePrepared<Row[]>(
    sql,
    `select ${M_COLS}, ${O_COLS} from memberships m join organizations o on o.id = m.organization_id
      where m.user_id = ? and m.organization_id in (select jsonb_array_elements_text(?::jsonb)) and ${accepts.sql('o')}`,
    [userId, idList(organizationIds), ...accepts.params],
  );
  const byOrg = new Map(rows.map((r) => [r.o_id as string, { membership: membershipFromRow(r), organization: organizationFromRow(r) }]));
  return organizationIds.map((id) => byOrg.get(id) ?? null);
};

export interface MembersPageKey {
  organizationId: string;
  /** Members to read: the page's size plus one, to know whether another page follows. */
  limit: number;
  /** The membership id the page starts after. */
  after: string | null;
  status: UserStatus | null;
}

export interface MembersPage {
  members: { membership: MembershipView; user: UserView }[];
  total: number;
}

/**
 * A page of members for each key `k` (an organization, a status or none, a cursor, a limit):
 * the total (`k_total`) and the page as ONE JSON text (`k_members`, an array of MemberTuple in
 * id order). Per page: an ordered range of the (organization_id[, status], id) index from the
 * cursor on (one branch runs, by the key's status), then the users by primary key, so its cost
 * follows the page, not the number of users (docs/members-pages.md). One row per page instead
 * of a row of 14 columns per member: reading those rows cost the gateway more than the rest of
 * the request. Built by concatenation as the Viewer page is: text and ids through to_json
 * (nothing in the schema limits their characters); enum values and timestamps as they are. `readable` is an SQL
 * condition that must hold for the page to be read at all.
 */
const membersPageSql = (readable: string): string => `
       cross join lateral (select count(*)::int as total from memberships c
                            where ${readable} and c.organization_id = k.org and (k.status is null or c.status = k.status)) c
       cross join lateral (
         select '[' || string_agg('[' || to_json(m.id) || ',' || to_json(m.user_id) || ',"' || m.role || '","' || m.status || '","' || m.source || '",'
                                  || coalesce('"' || m.last_visited_at || '"', 'null') || ',"' || m.created_at || '","' || m.updated_at || '",'
                                  || to_json(u.email) || ',' || coalesce(to_json(u.display_name)::text, 'null') || ','
                                  || coalesce(to_json(u.last_visited_organization_id)::text, 'null') || ',"' || u.created_at || '"]',
                                  ',' order by m.id) || ']' as members
           from ((select * from memberships m
                   where ${readable} and k.status is null and m.organization_id = k.org and m.id > coalesce(k.after, '')
                   order by m.id limit k.lim)
                 union all
                 (select * from memberships m
                   where ${readable} and k.status is not null and m.organization_id = k.org and m.status = k.status and m.id > coalesce(k.after, '')
                   order by m.id limit k.lim)) m
           join users u on u.id = m.user_id) p`;

type MemberTuple = [
  membershipId: string,
  userId: string,
  role: string,
  status: string,
  source: string,
  lastVisitedAt: string | null,
  createdAt: string,
  updatedAt: string,
  email: string,
  displayName: string | null,
  lastVisitedOrganizationId: string | null,
  userCreatedAt: string,
];

const KEYS_SQL = 'jsonb_to_recordset(?::jsonb) as k(i int, org text, status text, after text, lim int)';
const keysParam = (keys: readonly MembersPageKey[]): string =>
  JSON.stringify(keys.map((k, i) => ({ i, org: k.organizationId, status: k.status, after: k.after, lim: k.limit })));

/** The page of a row that selected `c.total as k_total, p.members as k_members` (membersPageSql). */
const membersPage = (r: Row, organizationId: string): MembersPage => {
  const tuples = r.k_members ? (JSON.parse(r.k_members as string) as MemberTuple[]) : [];
  const known = { userId: '', organizationId };
  return {
    total: Number(r.k_total),
    members: tuples.map((t) => {
      known.userId = t[1];
      return {
        membership: new MembershipFromRow(
          { m_id: t[0], m_role: t[2], m_status: t[3], m_source: t[4], m_last_visited_at: t[5], m_created_at: t[6], m_updated_at: t[7] },
          known,
        ),
        user: userFromRow({ u_id: t[1], u_email: t[8], u_display_name: t[9], u_last_visited_organization_id: t[10], u_created_at: t[11] }),
      };
    }),
  };
};

/** Pages of organizations' members (oldest id first), all of them in one statement. */
export const readMemberPages = async (sql: SqlRunner, keys: readonly MembersPageKey[]): Promise<MembersPage[]> => {
  const rows = await executePrepared<Row[]>(
    sql,
    `select k.i as k_i, c.total as k_total, p.members as k_members from ${KEYS_SQL} ${membersPageSql('true')}`,
    [keysParam(keys)],
  );
  const pages: MembersPage[] = keys.map(() => ({ members: [], total: 0 }));
  for (const r of rows) {
    const i = Number(r.k_i);
    pages[i] = membersPage(r, keys[i]!.organizationId);
  }
  return pages;
};

/** The viewer's membership (as `vm_*`, read as `m_*` by the views). */
const VM_COLS = M_COLS.replaceAll('m.', 'vm.').replaceAll(' as m_', ' as vm_');
const viewerMembershipRow = (r: Row): Row => {
  const renamed: Row = {};
  for (const [column, value] of Object.entries(r)) if (column.startsWith('vm_')) renamed[column.slice(1)] = value;
  return renamed;
};

export interface OrganizationWithMembers {
  viewer: { membership: MembershipView; organization: OrganizationView } | null;
  /** Null unless the viewer can enter the organization. */
  members: MembersPage | null;
}

/**
 * For each key, the viewer's membership in the organization (where its scope accepts it) and,
 * when that membership can enter it, the page of members, in one statement: what
 * `organization(id) { members { … } }` reads.
 */
export const readOrganizationsWithMembers = async (
  sql: SqlRunner,
  userId: string,
  keys: readonly MembersPageKey[],
  accepts: AcceptsFilter,
): Promise<OrganizationWithMembers[]> => {
  const rows = await executePrepared<Row[]>(
    sql,
    `select k.i as k_i, ${VM_COLS}, ${O_COLS}, c.total as k_total, p.members as k_members
       from ${KEYS_SQL}
       join memberships vm on vm.user_id = ? and vm.organization_id = k.org
       join organizations o on o.id = vm.organization_id and ${accepts.sql('o')}
       ${membersPageSql(canEnterSql('vm'))}`,
    [keysParam(keys), userId, ...accepts.params],
  );
  const found: OrganizationWithMembers[] = keys.map(() => ({ viewer: null, members: null }));
  for (const r of rows) {
    const i = Number(r.k_i);
    const membership = membershipFromRow(viewerMembershipRow(r));
    found[i] = {
      viewer: { membership, organization: organizationFromRow(r) },
      members: canEnter(membership) ? membersPage(r, keys[i]!.organizationId) : null,
    };
  }
  return found;
};

/** Organizations' teams, each flagged with whether `viewerUserId` belongs to it; one row of JSON text per organization. */
export const readOrganizationTeams = async (sql: SqlRunner, viewerUserId: string, organizationIds: readonly string[]): Promise<OrganizationTeams[]> => {
  const rows = await sql.execute<{ organization_id: string; teams: string }[]>(
    `select t.organization_id,
            ${teamsJsonSql(`exists (select 1 from team_members tm join memberships vm on vm.id = tm.membership_id
                                     where tm.team_key = t.key and vm.user_id = ?)`)} as teams
       from teams t where t.organization_id in (select jsonb_array_elements_text(?::jsonb)) group by t.organization_id`,
    [viewerUserId, idList(organizationIds)],
  );
  const teamsByOrg = new Map(rows.map((r) => [r.organization_id, r.teams]));
  return organizationIds.map((id) => {
    const teams = teamsByOrg.get(id);
    return organizationTeams(teams ? (JSON.parse(teams) as TeamTuple[]) : [], id);
  });
};

/** The teams of each membership, in the order the teams list uses. */
export const readMembershipTeams = async (sql: SqlRunner, membershipIds: readonly string[]): Promise<TeamView[][]> => {
  const rows = await sql.execute<Row[]>(
    `select tm.membership_id as tm_membership_id, ${T_COLS} from team_members tm join teams t on t.key = tm.team_key
      where tm.membership_id in (select jsonb_array_elements_text(?::jsonb)) order by lower(t.name), t.team_id`,
    [idList(membershipIds)],
  );
  const byMembership = new Map<string, TeamView[]>(membershipIds.map((id) => [id, []]));
  for (const r of rows) byMembership.get(r.tm_membership_id as string)!.push(teamFromRow(r));
  return membershipIds.map((id) => byMembership.get(id)!);
};

export const readUsers = async (sql: SqlRunner, ids: readonly string[]): Promise<(UserView | null)[]> => {
  const rows = await sql.execute<Row[]>(`select ${U_COLS} from users u where u.id in (select jsonb_array_elements_text(?::jsonb))`, [idList(ids)]);
  const byId = new Map(rows.map((r) => [r.u_id as string, userFromRow(r)]));
  return ids.map((id) => byId.get(id) ?? null);
};

/** Timestamps of rows read without them, by TimestampReader key; undefined for a row deleted since. */
export const readTimestamps = async (sql: SqlRunner, keys: readonly string[]): Promise<(Row | undefined)[]> => {
  const ids: Record<string, string[]> = { m: [], o: [], t: [] };
  for (const key of keys) ids[key.slice(0, 1)]!.push(key.slice(2));
  const rows = await sql.execute<Row[]>(
    `select 'm:' || id as key, created_at, updated_at, last_visited_at from memberships where id in (select jsonb_array_elements_text(?::jsonb))
     union all select 'o:' || id, created_at, null, null from organizations where id in (select jsonb_array_elements_text(?::jsonb))
     union all select 't:' || key, created_at, updated_at, null from teams where key in (select jsonb_array_elements_text(?::jsonb))`,
    [idList(ids.m!), idList(ids.o!), idList(ids.t!)],
  );
  const byKey = new Map(rows.map((r) => [r.key as string, r]));
  return keys.map((key) => byKey.get(key));
};
