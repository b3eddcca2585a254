/**
 * The Viewer page: the viewer's memberships with their organizations (and, when asked, every
 * organization's teams flagged with the viewer's own) in ONE statement.
 */
import type { MembershipView, OrganizationView, TeamView } from '../../domain/model/index.js';
import { executePrepared, type SqlRunner } from '../orm.js';
import { MembershipFromRow, O_COLS, OrganizationFromRow, type Row, TeamFromRow, type TimestampReader } from './row-views.js';

/** The organization filter of a principal's scope, as SQL on an alias and its parameters. */
export interface AcceptsFilter {
  sql: (organizationAlias: string) => string;
  params: readonly unknown[];
}

/** An organization's teams, with the keys of those the viewer belongs to. */
export interface OrganizationTeams {
  teams: TeamView[];
  viewerTeamKeys: Set<string>;
}

/**
 * The teams of one organization (teams `t`) as JSON text: an array of TeamTuple in the order
 * the teams list uses, `viewerMember` a boolean SQL expression; without `timestamps` they are
 * 0 (the views then read them if asked, see TimestampReader). Built by concatenation:
 * text a user chose goes through to_json, so it is escaped; the key is generated, and
 * jsonb, booleans and a timestamp's text have no quote or backslash. PostgreSQL's
 * json_build_object looks up every value's type on every call and cost more than the
 * rest of the Viewer page's statement.
 */
export const teamsJsonSql = (viewerMember: string, timestamps = true): string => `'[' || string_agg('["' || t.key || '",' || to_json(t.team_id) || ',' || to_json(t.name) || ','
       || t.policies::text || ',' || coalesce(to_json(t.external_id)::text, 'null') || ${timestamps ? `',"' || t.created_at || '","' || t.updated_at || '",'` : `',0,0,'`}
       || (${viewerMember}) || ']', ',' order by lower(t.name), t.team_id) || ']'`;

export type TeamTuple = [key: string, teamId: string, name: string, policies: string[], externalId: string | null, createdAt: string | 0, updatedAt: string | 0, viewerMember: boolean];

/** One organization's teams from the tuples teamsJsonSql builds. */
export const organizationTeams = (tuples: readonly TeamTuple[], organizationId: string, later?: TimestampReader): OrganizationTeams => {
  const entry: OrganizationTeams = { teams: [], viewerTeamKeys: new Set() };
  for (const t of tuples) {
    const team = new TeamFromRow(
      { t_key: t[0], t_team_id: t[1], t_name: t[2], t_policies: t[3], t_external_id: t[4], t_created_at: t[5], t_updated_at: t[6] },
      organizationId,
      later,
    );
    entry.teams.push(team);
    if (t[7]) entry.viewerTeamKeys.add(team.key);
  }
  return entry;
};

/** The Viewer page's columns (memberships `m`, organizations `o`) and their names. */
const PAGE_COLS = `m.id as m_id, m.role as m_role, m.status as m_status, m.source as m_source, m.last_visited_at as m_last_visited_at,
  m.created_at as m_created_at, m.updated_at as m_updated_at, ${O_COLS}, lower(o.name) as o_sort_name`;

/**
 * The whole page with every organization's teams as ONE JSON text (`entries`, an array of
 * EntryTuple in page order) and the total: one row for the driver to read instead of a
 * row of 16 columns per organization (reading those cost the gateway more than the rest
 * of the request). Built by concatenation as teamsJsonSql is: organization ids and names
 * through to_json; generated ids and enum values as they are. The teams of the page's
 * organizations are grouped in one materialized CTE joined to the page: the generic plan
 * expects a page of one row (a user has about one membership on average), so a lateral
 * subquery per organization was planned as a sequential scan of teams and team_members
 * repeated for every organization of the page whenever those tables are small (twice the
 * statement's cost); the grouped join scans them once, or by index when they are large.
 * The page CTE is materialized: as a prepared statement the plan is generic, and the page must be
 * read once, not once per use. Without `timestamps` every timestamp is 0: writing ~500 of
 * them as text and parsing them back was a visible part of a Viewer request, and most
 * queries ask for none.
 */
const pageWithTeamsSql = (page: string, timestamps: boolean): string => `with page as materialized (${page}),
  page_teams as materialized (
    select p.o_id, ${teamsJsonSql('tm.membership_id is not null', timestamps)} as teams
      from page p join teams t on t.organization_id = p.o_id
      left join team_members tm on tm.team_key = t.key and tm.membership_id = p.m_id
     group by p.o_id)
  select (select total from page limit 1) as total,
         '[' || string_agg('["' || p.m_id || '","' || p.m_role || '","' || p.m_status || '","' || p.m_source || '",'
                           || ${timestamps ? `coalesce('"' || p.m_last_visited_at || '"', 'null') || ',"' || p.m_created_at || '","' || p.m_updated_at || '",'` : `'0,0,0,'`}
                           || to_json(p.o_id) || ',' || to_json(p.o_name) || ',' || p.o_auto_access_enabled || ',"' || p.o_auto_access_default_role || '",'
                           || p.o_auto_access_domains::text || ${timestamps ? `',"' || p.o_created_at || '",'` : `',0,'`} || to_json(p.o_sort_name) || ','
                           || coalesce(pt.teams, '[]') || ']',
                           ',' order by p.o_sort_name, p.o_id) || ']' as entries
    from page p left join page_teams pt on pt.o_id = p.o_id`;

/** Timestamps are 0 when the page was read without them. */
type EntryTuple = [
  membershipId: string,
  role: string,
  status: string,
  source: string,
  lastVisitedAt: string | null | 0,
  createdAt: string | 0,
  updatedAt: string | 0,
  organizationId: string,
  name: string,
  autoAccessEnabled: boolean,
  autoAccessDefaultRole: string,
  autoAccessDomains: string[],
  organizationCreatedAt: string | 0,
  sortName: string,
  teams: TeamTuple[],
];

/** An entry as the row shape the *FromRow views read. */
const entryRow = (e: EntryTuple): Row => ({
  m_id: e[0],
  m_role: e[1],
  m_status: e[2],
  m_source: e[3],
  m_last_visited_at: e[4],
  m_created_at: e[5],
  m_updated_at: e[6],
  o_id: e[7],
  o_name: e[8],
  o_auto_access_enabled: e[9],
  o_auto_access_default_role: e[10],
  o_auto_access_domains: e[11],
  o_created_at: e[12],
  o_sort_name: e[13],
});

export interface ViewerPageEntry {
  membership: MembershipView;
  organization: OrganizationView;
  /** The first part of the keyset position (lower-cased name); the organization id is the second. */
  sortName: string;
  /** Null when the page was read without teams. */
  teams: OrganizationTeams | null;
}

export interface ViewerPageRequest {
  userId: string;
  accepts: AcceptsFilter;
  /** Entries to read: the page's size plus one, to know whether another page follows. */
  limit: number;
  /** The keyset position to start after: [lower-cased name, organization id]. */
  after: readonly [string, string] | null;
  withTeams: boolean;
  /** Without timestamps the views read them through `later` if a field asks. */
  withTimestamps: boolean;
  later: TimestampReader;
}

/**
 * The viewer's memberships in organizations its scope accepts, ordered by name without regard
 * to case (then id) whatever the database's collation, and their total (null when the page is
 * empty: count with countViewerMemberships).
 */
export const readViewerPage = async (sql: SqlRunner, q: ViewerPageRequest): Promise<{ entries: ViewerPageEntry[]; total: number | null }> => {
  const params: unknown[] = [q.userId, ...q.accepts.params, q.userId, ...q.accepts.params];
  let cursorSql = '';
  if (q.after) {
    cursorSql = 'and (lower(o.name), o.id) > (?, ?)';
    params.push(q.after[0], q.after[1]);
  }
  params.push(q.limit);
  const page = `select ${PAGE_COLS}, (select count(*) from memberships c join organizations o on o.id = c.organization_id
                                        where c.user_id = ? and ${q.accepts.sql('o')})::int as total
       from memberships m join organizations o on o.id = m.organization_id
      where m.user_id = ? and ${q.accepts.sql('o')} ${cursorSql}
      order by lower(o.name), o.id limit ?`;
  let rows: Row[];
  let total: number | null;
  let teamsOf: TeamTuple[][] | null = null;
  let later: TimestampReader | undefined;
  if (q.withTeams) {
    if (!q.withTimestamps) later = q.later;
    const [one] = await executePrepared<{ total: number | null; entries: string | null }[]>(sql, pageWithTeamsSql(page, q.withTimestamps), params);
    const entries = one?.entries ? (JSON.parse(one.entries) as EntryTuple[]) : [];
    rows = entries.map(entryRow);
    teamsOf = entries.map((e) => e[14]);
    total = one?.total ?? null;
  } else {
    rows = await executePrepared<Row[]>(sql, page, params);
    total = rows[0] ? Number(rows[0].total) : null;
  }
  const known = { userId: q.userId, organizationId: '' };
  const entries = rows.map((r, i): ViewerPageEntry => {
    const organizationId = r.o_id as string;
    known.organizationId = organizationId;
    return {
      membership: new MembershipFromRow(r, known, later),
      organization: new OrganizationFromRow(r, later),
      sortName: r.o_sort_name as string,
      teams: teamsOf ? organizationTeams(teamsOf[i]!, organizationId, later) : null,
    };
  });
  return { entries, total };
};

export const countViewerMemberships = async (sql: SqlRunner, userId: string, accepts: AcceptsFilter): Promise<number> => {
  const [row] = await sql.execute<Row[]>(
    `select count(*)::int as total from memberships m join organizations o on o.id = m.organization_id where m.user_id = ? and ${accepts.sql('o')}`,
    [userId, ...accepts.params],
  );
  return Number(row?.total ?? 0);
};
