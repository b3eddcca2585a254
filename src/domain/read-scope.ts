/**
 * The read side for one request of one principal: batched, cached, access-checked.
 * Only organizations in the principal's scope (access.ts `acceptsSql`) are ever read as its
 * own: the rule is part of the statements that read the viewer's memberships, not a separate read.
 *
 * Every read a client can make goes through here, so "not a member → null/NOT_FOUND",
 * "cannot enter → FORBIDDEN" and "first ≤ 100" live in one place. Loaders batch by
 * key within a tick (DataLoader), so a page of 50 organizations with their teams and
 * the viewer's permissions costs one statement per kind of data, not one per row.
 */
import DataLoader from 'dataloader';
import type { MembershipEntity, OrganizationEntity, TeamEntity, UserEntity } from '../persistence/entities.js';
import type { SqlRunner } from '../persistence/orm.js';
import { executePrepared } from '../persistence/orm.js';
import { acceptsParams, acceptsSql, assertAccess, type Principal } from './access.js';
import {
  badInput,
  canEnter,
  effectivePermissions,
  isUserStatus,
  type MembershipSource,
  notFound,
  type OrganizationRole,
  type UserStatus,
} from './model/index.js';
import type { AutomaticUserAccessSettings } from './organization/organization-service.js';
import { dateFromDb } from './timestamps.js';

export interface UserView {
  id: string;
  email: string;
  displayName: string | null;
  lastVisitedOrganizationId: string | null;
  createdAt: Date;
}

/**
 * A value that may need a read: the Viewer page leaves out timestamps a query does not ask
 * for, and a view of it reads them in one batched statement if some other field does.
 */
export type Awaitable<T> = T | Promise<T>;

export interface OrganizationView {
  id: string;
  name: string;
  automaticUserAccess: AutomaticUserAccessSettings;
  createdAt: Awaitable<Date>;
}

export interface MembershipView {
  id: string;
  userId: string;
  organizationId: string;
  role: OrganizationRole;
  status: UserStatus;
  source: MembershipSource;
  lastVisitedAt: Awaitable<Date | null>;
  createdAt: Awaitable<Date>;
  updatedAt: Awaitable<Date>;
}

export interface TeamView {
  key: string;
  id: string;
  organizationId: string;
  name: string;
  policies: string[];
  externalId: string | null;
  createdAt: Awaitable<Date>;
  updatedAt: Awaitable<Date>;
}

export interface Page<T> {
  items: { cursor: string; node: T }[];
  totalCount: number;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export const MAX_PAGE_SIZE = 100;

// ---- mapping from entities (write side) and rows (read side) ----

const refId = (r: string | { id: string }): string => (typeof r === 'string' ? r : r.id);

export const userView = (u: UserEntity): UserView => ({
  id: u.id,
  email: u.email,
  displayName: u.displayName ?? null,
  lastVisitedOrganizationId: u.lastVisitedOrganization ? refId(u.lastVisitedOrganization) : null,
  createdAt: u.createdAt,
});

export const organizationView = (o: OrganizationEntity): OrganizationView => ({
  id: o.id,
  name: o.name,
  automaticUserAccess: { enabled: o.autoAccessEnabled, defaultRole: o.autoAccessDefaultRole, allowedDomains: [...o.autoAccessDomains] },
  createdAt: o.createdAt,
});

export const membershipView = (m: MembershipEntity): MembershipView => ({
  id: m.id,
  userId: refId(m.user),
  organizationId: refId(m.organization),
  role: m.role,
  status: m.status,
  source: m.source,
  lastVisitedAt: m.lastVisitedAt ?? null,
  createdAt: m.createdAt,
  updatedAt: m.updatedAt,
});

export const teamView = (t: TeamEntity): TeamView => ({
  key: t.key,
  id: t.teamId,
  organizationId: refId(t.organization),
  name: t.name,
  policies: [...t.policies],
  externalId: t.externalId ?? null,
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
});

export type Row = Record<string, unknown>;
const date = dateFromDb;
const nullableDate = (v: unknown): Date | null => (v == null ? null : date(v));
const jsonArray = (v: unknown): string[] => (typeof v === 'string' ? (JSON.parse(v) as string[]) : ((v as string[] | null) ?? []));

// Row-backed views. Their timestamps stay the driver's text until a field asks for them:
// a page of the Viewer query holds ~500 of them and a typical query reads none. A view
// made without its timestamps (`later` given) reads them when a field asks.

/** Reads the timestamps of a row a view was made without; keys 'm:<membership id>', 'o:<organization id>', 't:<team key>'. */
type TimestampReader = (key: string) => Promise<Row>;

/** A view's timestamp: its own value, or (made without it) `column` of the row read later under `key`. */
const timestamp = <T>(later: TimestampReader | undefined, key: string, column: string, own: unknown, parse: (v: unknown) => T): Awaitable<T> =>
  later ? later(key).then((t) => parse(t[column])) : parse(own);

class MembershipFromRow implements MembershipView {
  readonly id: string;
  readonly userId: string;
  readonly organizationId: string;
  readonly role: OrganizationRole;
  readonly status: UserStatus;
  readonly source: MembershipSource;
  readonly #lastVisitedAt: unknown;
  readonly #createdAt: unknown;
  readonly #updatedAt: unknown;
  readonly #later: TimestampReader | undefined;
  constructor(r: Row, known?: { userId: string; organizationId: string }, later?: TimestampReader) {
    this.id = r.m_id as string;
    this.userId = known?.userId ?? (r.m_user_id as string);
    this.organizationId = known?.organizationId ?? (r.m_organization_id as string);
    this.role = r.m_role as OrganizationRole;
    this.status = r.m_status as UserStatus;
    this.source = r.m_source as MembershipSource;
    this.#lastVisitedAt = r.m_last_visited_at;
    this.#createdAt = r.m_created_at;
    this.#updatedAt = r.m_updated_at;
    this.#later = later;
  }
  get lastVisitedAt(): Awaitable<Date | null> {
    return timestamp(this.#later, `m:${this.id}`, 'last_visited_at', this.#lastVisitedAt, nullableDate);
  }
  get createdAt(): Awaitable<Date> {
    return timestamp(this.#later, `m:${this.id}`, 'created_at', this.#createdAt, date);
  }
  get updatedAt(): Awaitable<Date> {
    return timestamp(this.#later, `m:${this.id}`, 'updated_at', this.#updatedAt, date);
  }
}

class OrganizationFromRow implements OrganizationView {
  readonly id: string;
  readonly name: string;
  readonly automaticUserAccess: AutomaticUserAccessSettings;
  readonly #createdAt: unknown;
  readonly #later: TimestampReader | undefined;
  constructor(r: Row, later?: TimestampReader) {
    this.id = r.o_id as string;
    this.name = r.o_name as string;
    this.automaticUserAccess = {
      enabled: Boolean(r.o_auto_access_enabled),
      defaultRole: r.o_auto_access_default_role as OrganizationRole,
      allowedDomains: jsonArray(r.o_auto_access_domains),
    };
    this.#createdAt = r.o_created_at;
    this.#later = later;
  }
  get createdAt(): Awaitable<Date> {
    return timestamp(this.#later, `o:${this.id}`, 'created_at', this.#createdAt, date);
  }
}

class TeamFromRow implements TeamView {
  readonly key: string;
  readonly id: string;
  readonly organizationId: string;
  readonly name: string;
  readonly policies: string[];
  readonly externalId: string | null;
  readonly #createdAt: unknown;
  readonly #updatedAt: unknown;
  readonly #later: TimestampReader | undefined;
  constructor(r: Row, organizationId?: string, later?: TimestampReader) {
    this.key = r.t_key as string;
    this.id = r.t_team_id as string;
    this.organizationId = organizationId ?? (r.t_organization_id as string);
    this.name = r.t_name as string;
    this.policies = jsonArray(r.t_policies);
    this.externalId = (r.t_external_id as string | null) ?? null;
    this.#createdAt = r.t_created_at;
    this.#updatedAt = r.t_updated_at;
    this.#later = later;
  }
  get createdAt(): Awaitable<Date> {
    return timestamp(this.#later, `t:${this.key}`, 'created_at', this.#createdAt, date);
  }
  get updatedAt(): Awaitable<Date> {
    return timestamp(this.#later, `t:${this.key}`, 'updated_at', this.#updatedAt, date);
  }
}

/** `known`: user and organization when the statement did not select them (the caller knows). */
export const membershipFromRow = (r: Row, known?: { userId: string; organizationId: string }): MembershipView => new MembershipFromRow(r, known);

export const organizationFromRow = (r: Row): OrganizationView => new OrganizationFromRow(r);

const userFromRow = (r: Row): UserView => ({
  id: r.u_id as string,
  email: r.u_email as string,
  displayName: (r.u_display_name as string | null) ?? null,
  lastVisitedOrganizationId: (r.u_last_visited_organization_id as string | null) ?? null,
  createdAt: date(r.u_created_at),
});

const teamFromRow = (r: Row, organizationId?: string): TeamView => new TeamFromRow(r, organizationId);

/** Column lists for raw reads: memberships as `m`, organizations as `o` (see *FromRow). */
export const M_COLS = `m.id as m_id, m.user_id as m_user_id, m.organization_id as m_organization_id, m.role as m_role,
  m.status as m_status, m.source as m_source, m.last_visited_at as m_last_visited_at,
  m.created_at as m_created_at, m.updated_at as m_updated_at`;
export const O_COLS = `o.id as o_id, o.name as o_name, o.auto_access_enabled as o_auto_access_enabled,
  o.auto_access_default_role as o_auto_access_default_role, o.auto_access_domains as o_auto_access_domains,
  o.created_at as o_created_at`;
const U_COLS = `u.id as u_id, u.email as u_email, u.display_name as u_display_name,
  u.last_visited_organization_id as u_last_visited_organization_id, u.created_at as u_created_at`;
const T_COLS = `t.key as t_key, t.team_id as t_team_id, t.organization_id as t_organization_id, t.name as t_name,
  t.policies as t_policies, t.external_id as t_external_id, t.created_at as t_created_at, t.updated_at as t_updated_at`;

/**
 * The teams of one organization (teams `t`) as JSON text: an array of TeamTuple in the order
 * the teams list uses, `viewerMember` a boolean SQL expression; without `timestamps` they are
 * 0 (the views then read them if asked, see TimestampReader). Built by concatenation:
 * text a user chose goes through to_json, so it is escaped; the key is generated, and
 * jsonb, booleans and a timestamp's text have no quote or backslash. PostgreSQL's
 * json_build_object looks up every value's type on every call and cost more than the
 * rest of the Viewer page's statement.
 */
const teamsJsonSql = (viewerMember: string, timestamps = true): string => `'[' || string_agg('["' || t.key || '",' || to_json(t.team_id) || ',' || to_json(t.name) || ','
       || t.policies::text || ',' || coalesce(to_json(t.external_id)::text, 'null') || ${timestamps ? `',"' || t.created_at || '","' || t.updated_at || '",'` : `',0,0,'`}
       || (${viewerMember}) || ']', ',' order by lower(t.name), t.team_id) || ']'`;

/** The Viewer page's columns (memberships `m`, organizations `o`) and their names. */
const PAGE_COLS = `m.id as m_id, m.role as m_role, m.status as m_status, m.source as m_source, m.last_visited_at as m_last_visited_at,
  m.created_at as m_created_at, m.updated_at as m_updated_at, ${O_COLS}, lower(o.name) as o_sort_name`;
/**
 * The whole page with every organization's teams as ONE JSON text (`entries`, an array of
 * EntryTuple in page order) and the total: one row for the driver to read instead of a
 * row of 16 columns per organization (reading those cost the gateway more than the rest
 * of the request). Built by concatenation as teamsJsonSql is: organization ids and names
 * through to_json; generated ids and enum values as they are. Each organization's teams
 * come from a lateral subquery (an index scan per organization of the page): a grouped
 * join of all teams cost PostgreSQL a sort, a group and a nested CTE scan more (≈ 0.45 ms
 * of 2.6 ms for 50 organizations). The page CTE is materialized: as a prepared statement
 * the plan is generic, and the page must be read once, not once per use. Without
 * `timestamps` every timestamp is 0: writing ~500 of them as text and parsing them back
 * was ≈ 7% of a Viewer request, and most queries ask for none.
 */
const pageWithTeamsSql = (page: string, timestamps: boolean): string => `with page as materialized (${page})
  select (select total from page limit 1) as total,
         '[' || string_agg('["' || p.m_id || '","' || p.m_role || '","' || p.m_status || '","' || p.m_source || '",'
                           || ${timestamps ? `coalesce('"' || p.m_last_visited_at || '"', 'null') || ',"' || p.m_created_at || '","' || p.m_updated_at || '",'` : `'0,0,0,'`}
                           || to_json(p.o_id) || ',' || to_json(p.o_name) || ',' || p.o_auto_access_enabled || ',"' || p.o_auto_access_default_role || '",'
                           || p.o_auto_access_domains::text || ${timestamps ? `',"' || p.o_created_at || '",'` : `',0,'`} || to_json(p.o_sort_name) || ','
                           || coalesce(pt.teams, '[]') || ']',
                           ',' order by p.o_sort_name, p.o_id) || ']' as entries
    from page p left join lateral (
      select ${teamsJsonSql('tm.membership_id is not null', timestamps)} as teams
        from teams t left join team_members tm on tm.team_key = t.key and tm.membership_id = p.m_id
       where t.organization_id = p.o_id) pt on true`;

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

type TeamTuple = [key: string, teamId: string, name: string, policies: string[], externalId: string | null, createdAt: string | 0, updatedAt: string | 0, viewerMember: boolean];

// ---- cursors: opaque base64url of the keyset position ----

const encodeCursor = (parts: string[]): string => Buffer.from(JSON.stringify(parts)).toString('base64url');
const decodeCursor = (cursor: string, size: number): string[] => {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === size && parts.every((p) => typeof p === 'string')) return parts as string[];
  } catch {
    // fall through
  }
  throw badInput('after', 'is not a cursor this list returned; pass the `cursor` or `pageInfo.endCursor` of a previous page.');
};

const checkFirst = (first: number): number => {
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE)
    throw badInput('first', `must be between 0 and ${MAX_PAGE_SIZE} (got ${first}).`);
  return first;
};

interface OrgTeamsEntry {
  teams: TeamView[];
  /** Keys of the teams the viewer belongs to. */
  viewerTeamKeys: Set<string>;
}

interface MembersPageKey {
  organizationId: string;
  first: number;
  /** The membership id the page starts after. */
  after: string | null;
  status: UserStatus | null;
}

export class ReadScope {
  readonly #em: SqlRunner;
  readonly principal: Principal;

  /** The viewer's memberships by organization id (null: not a member). */
  readonly #viewerMemberships: DataLoader<string, { membership: MembershipView; organization: OrganizationView } | null>;
  /** What the loaders have already answered, for synchronous reads (peek*). */
  readonly #knownViewerMemberships = new Map<string, { membership: MembershipView; organization: OrganizationView } | null>();
  readonly #loadedTeams = new Map<string, OrgTeamsEntry>();
  readonly #organizationTeams: DataLoader<string, OrgTeamsEntry>;
  readonly #membershipTeams: DataLoader<string, TeamView[]>;
  readonly #users: DataLoader<string, UserView | null>;
  /** Pages of organizations' members, all of a request's pages in one statement. */
  readonly #memberPages: DataLoader<MembersPageKey, { rows: Row[]; total: number }, string>;
  /** Timestamps of rows read without them (TimestampReader keys). */
  readonly #timestamps: DataLoader<string, Row>;
  readonly #readTimestamps: TimestampReader = (key) => this.#timestamps.load(key);

  constructor(em: SqlRunner, principal: Principal) {
    this.#em = em;
    this.principal = principal;
    this.#viewerMemberships = new DataLoader(async (orgIds) => {
      const rows = await executePrepared<Row[]>(em, 
        `select ${M_COLS}, ${O_COLS} from memberships m join organizations o on o.id = m.organization_id
          where m.user_id = ? and m.organization_id in (select jsonb_array_elements_text(?::jsonb)) and ${acceptsSql('o')}`,
        [principal.userId, JSON.stringify(orgIds), ...acceptsParams(principal)],
      );
      const byOrg = new Map(rows.map((r) => [r.o_id as string, { membership: membershipFromRow(r), organization: organizationFromRow(r) }]));
      for (const id of orgIds) this.#knownViewerMemberships.set(id, byOrg.get(id) ?? null);
      return orgIds.map((id) => byOrg.get(id) ?? null);
    });
    this.#memberPages = new DataLoader(
      async (keys) => {
        // Per page: an ordered range of the (organization_id[, status], id) index from the
        // cursor on (one branch runs, by the key's status), then the users by primary key: its
        // cost follows the page, not the number of users (docs/members-pages.md).
        const rows = await executePrepared<Row[]>(em, 
          `select k.i as k_i, c.total as k_total, ${M_COLS}, ${U_COLS}
             from jsonb_to_recordset(?::jsonb) as k(i int, org text, status text, after text, lim int)
             cross join lateral (select count(*)::int as total from memberships c
                                  where c.organization_id = k.org and (k.status is null or c.status = k.status)) c
             left join lateral ((select * from memberships m
                                  where k.status is null and m.organization_id = k.org and m.id > coalesce(k.after, '')
                                  order by m.id limit k.lim)
                                union all
                                (select * from memberships m
                                  where k.status is not null and m.organization_id = k.org and m.status = k.status and m.id > coalesce(k.after, '')
                                  order by m.id limit k.lim)) m on true
             left join users u on u.id = m.user_id
            order by k.i, m.id`,
          [JSON.stringify(keys.map((k, i) => ({ i, org: k.organizationId, status: k.status, after: k.after, lim: k.first + 1 })))],
        );
        const pages = keys.map(() => ({ rows: [] as Row[], total: 0 }));
        for (const r of rows) {
          const page = pages[Number(r.k_i)]!;
          page.total = Number(r.k_total);
          if (r.m_id !== null && r.m_id !== undefined) page.rows.push(r);
        }
        return pages;
      },
      { cacheKeyFn: (k) => JSON.stringify([k.organizationId, k.first, k.after, k.status]) },
    );
    this.#organizationTeams = new DataLoader(async (orgIds) => {
      // One row of JSON text per organization rather than a row per team (see teamsJsonSql).
      const rows = await em.execute<{ organization_id: string; teams: string }[]>(
        `select t.organization_id,
                ${teamsJsonSql(`exists (select 1 from team_members tm join memberships vm on vm.id = tm.membership_id
                                         where tm.team_key = t.key and vm.user_id = ?)`)} as teams
           from teams t where t.organization_id in (select jsonb_array_elements_text(?::jsonb)) group by t.organization_id`,
        [principal.userId, JSON.stringify(orgIds)],
      );
      const teamsByOrg = new Map(rows.map((r) => [r.organization_id, r.teams]));
      return orgIds.map((id) => {
        const teams = teamsByOrg.get(id);
        const entry = teamsEntry(teams ? (JSON.parse(teams) as TeamTuple[]) : [], id);
        this.#loadedTeams.set(id, entry);
        return entry;
      });
    });
    this.#membershipTeams = new DataLoader(async (membershipIds) => {
      const rows = await em.execute<Row[]>(
        `select tm.membership_id as tm_membership_id, ${T_COLS} from team_members tm join teams t on t.key = tm.team_key
          where tm.membership_id in (select jsonb_array_elements_text(?::jsonb)) order by lower(t.name), t.team_id`,
        [JSON.stringify(membershipIds)],
      );
      const byMembership = new Map<string, TeamView[]>(membershipIds.map((id) => [id, []]));
      for (const r of rows) byMembership.get(r.tm_membership_id as string)!.push(teamFromRow(r));
      return membershipIds.map((id) => byMembership.get(id)!);
    });
    this.#users = new DataLoader(async (ids) => {
      const rows = await em.execute<Row[]>(`select ${U_COLS} from users u where u.id in (select jsonb_array_elements_text(?::jsonb))`, [JSON.stringify(ids)]);
      const byId = new Map(rows.map((r) => [r.u_id as string, userFromRow(r)]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    this.#timestamps = new DataLoader<string, Row>(async (keys) => {
      const ids: Record<string, string[]> = { m: [], o: [], t: [] };
      for (const key of keys) ids[key.slice(0, 1)]!.push(key.slice(2));
      const rows = await em.execute<Row[]>(
        `select 'm:' || id as key, created_at, updated_at, last_visited_at from memberships where id in (select jsonb_array_elements_text(?::jsonb))
         union all select 'o:' || id, created_at, null, null from organizations where id in (select jsonb_array_elements_text(?::jsonb))
         union all select 't:' || key, created_at, updated_at, null from teams where key in (select jsonb_array_elements_text(?::jsonb))`,
        [JSON.stringify(ids.m), JSON.stringify(ids.o), JSON.stringify(ids.t)],
      );
      const byKey = new Map(rows.map((r) => [r.key as string, r]));
      // A row deleted since the page was read.
      const kinds: Record<string, string> = { m: 'Membership', o: 'Organization', t: 'Team' };
      return keys.map((key) => byKey.get(key) ?? notFound(kinds[key.slice(0, 1)]!, key.slice(2)));
    });
    if (principal.user) this.#users.prime(principal.userId, principal.user);
  }

  /** Permissions a use case already computed, by membership id. */
  readonly #knownPermissions = new Map<string, string[]>();

  /** Seeds the caches with what a write just returned, so reading it back costs nothing. */
  prime(m: MembershipView, o?: OrganizationView, permissions?: string[]): void {
    if (m.userId === this.principal.userId && o) {
      this.#viewerMemberships.clear(o.id).prime(o.id, { membership: m, organization: o });
      this.#knownViewerMemberships.set(o.id, { membership: m, organization: o });
    }
    if (permissions) this.#knownPermissions.set(m.id, permissions);
  }

  async viewerUser(): Promise<UserView> {
    const u = await this.#users.load(this.principal.userId);
    if (!u) throw notFound('User', this.principal.userId);
    return u;
  }

  /** Null when the viewer is not a member (existence is not leaked). */
  async viewerMembership(organizationId: string): Promise<MembershipView | null> {
    return (await this.#viewerMemberships.load(organizationId))?.membership ?? null;
  }

  /** An organization the viewer is a member of (even one it cannot enter), else null. */
  async organization(organizationId: string): Promise<OrganizationView | null> {
    return (await this.#viewerMemberships.load(organizationId))?.organization ?? null;
  }

  /** For fields beyond id/name/viewerMembership: the viewer must be able to enter. */
  async requireEnter(organizationId: string): Promise<OrganizationView> {
    const entry = await this.#viewerMemberships.load(organizationId);
    if (!entry) throw notFound('Organization', organizationId);
    assertAccess({ ...entry.membership, organization: { id: organizationId } }, 'enter');
    return entry.organization;
  }

  async currentOrganization(): Promise<OrganizationView | null> {
    const id = this.principal.currentOrganizationId;
    return id ? this.organization(id) : null;
  }

  async currentMembership(): Promise<MembershipView | null> {
    const id = this.principal.currentOrganizationId;
    return id ? this.viewerMembership(id) : null;
  }

  /**
   * One statement: the page, the organizations and the total, and with `withTeams` every
   * organization's teams (flagged with the viewer's own), so that teams and permissions of
   * the whole page need no second statement. Ordered by name without regard to case (then
   * id), whatever the database's collation; the cursor holds that key. With teams the page
   * is one JSON text built in SQL (pageWithTeamsSql).
   */
  async viewerOrganizations(
    first: number,
    after: string | null,
    options: { withTeams?: boolean; withTimestamps?: boolean } = {},
  ): Promise<Page<{ membership: MembershipView; organization: OrganizationView }>> {
    checkFirst(first);
    const scope = acceptsParams(this.principal);
    const params: unknown[] = [this.principal.userId, ...scope, this.principal.userId, ...scope];
    let cursorSql = '';
    if (after) {
      const [name, id] = decodeCursor(after, 2);
      cursorSql = 'and (lower(o.name), o.id) > (?, ?)';
      params.push(name, id);
    }
    params.push(first + 1);
    const page = `select ${PAGE_COLS}, (select count(*) from memberships c join organizations o on o.id = c.organization_id
                                          where c.user_id = ? and ${acceptsSql('o')})::int as total
         from memberships m join organizations o on o.id = m.organization_id
        where m.user_id = ? and ${acceptsSql('o')} ${cursorSql}
        order by lower(o.name), o.id limit ?`;
    let rows: Row[];
    let total: number | null;
    let teamsOf: TeamTuple[][] | null = null;
    // Views of a page read without timestamps read them if a field asks (one batched statement).
    let later: TimestampReader | undefined;
    if (options.withTeams) {
      const withTimestamps = options.withTimestamps ?? true;
      if (!withTimestamps) later = this.#readTimestamps;
      const [one] = await executePrepared<{ total: number | null; entries: string | null }[]>(this.#em, pageWithTeamsSql(page, withTimestamps), params);
      const entries = one?.entries ? (JSON.parse(one.entries) as EntryTuple[]) : [];
      rows = entries.map(entryRow);
      teamsOf = entries.map((e) => e[14]);
      total = one?.total ?? null;
    } else {
      rows = await executePrepared<Row[]>(this.#em, page, params);
      total = rows[0] ? Number(rows[0].total) : null;
    }
    const items: Page<{ membership: MembershipView; organization: OrganizationView }>['items'] = [];
    const known = { userId: this.principal.userId, organizationId: '' };
    for (let i = 0; i < rows.length && i < first; i++) {
      const r = rows[i]!;
      const orgId = r.o_id as string;
      known.organizationId = orgId;
      const node = { membership: new MembershipFromRow(r, known, later), organization: new OrganizationFromRow(r, later) };
      this.#viewerMemberships.prime(orgId, node);
      this.#knownViewerMemberships.set(orgId, node);
      if (teamsOf) {
        const entry = teamsEntry(teamsOf[i]!, orgId, later);
        this.#loadedTeams.set(orgId, entry);
        this.#organizationTeams.prime(orgId, entry);
      }
      items.push({ cursor: encodeCursor([r.o_sort_name as string, orgId]), node });
    }
    return pageOf(items, total ?? (await this.countViewerMemberships()), rows.length > first, Boolean(after));
  }

  private async countViewerMemberships(): Promise<number> {
    const [row] = await this.#em.execute<Row[]>(
      `select count(*)::int as total from memberships m join organizations o on o.id = m.organization_id where m.user_id = ? and ${acceptsSql('o')}`,
      [this.principal.userId, ...acceptsParams(this.principal)],
    );
    return Number(row?.total ?? 0);
  }

  /** Members of an organization the viewer can enter, oldest first. */
  async members(organizationId: string, first: number, after: string | null, status: UserStatus | null): Promise<Page<MembershipView>> {
    checkFirst(first);
    if (status !== null && !isUserStatus(status)) throw badInput('status', `unknown status ${String(status)}.`);
    await this.requireEnter(organizationId);
    const afterId = after ? decodeCursor(after, 1)[0]! : null;
    const { rows, total } = await this.#memberPages.load({ organizationId, first, after: afterId, status });
    const items = rows.slice(0, first).map((r) => {
      const user = userFromRow(r);
      this.#users.prime(user.id, user);
      const node = membershipFromRow(r);
      return { cursor: encodeCursor([node.id]), node };
    });
    return pageOf(items, total, rows.length > first, Boolean(after));
  }

  // Synchronous reads of what is already loaded. They answer only when the answer is
  // certain (undefined otherwise: use the async method, which also raises the errors).
  // Resolving a page of 50 organizations without a promise per field is most of what
  // the Viewer query costs in GraphQL execution.

  peekTeams(organizationId: string): TeamView[] | undefined {
    const viewer = this.#knownViewerMemberships.get(organizationId);
    if (!viewer || !canEnter(viewer.membership)) return undefined;
    return this.#loadedTeams.get(organizationId)?.teams;
  }

  peekMembershipTeams(m: MembershipView): TeamView[] | undefined {
    if (m.userId !== this.principal.userId) return undefined;
    // The organization's teams are its data: like its other fields, only for a membership that can enter.
    if (!canEnter(m)) return [];
    const entry = this.#loadedTeams.get(m.organizationId);
    return entry?.teams.filter((t) => entry.viewerTeamKeys.has(t.key));
  }

  peekPermissions(m: MembershipView): string[] | undefined {
    if (!canEnter(m)) return [];
    const known = this.#knownPermissions.get(m.id);
    if (known) return known;
    const teams = this.peekMembershipTeams(m);
    if (!teams) return undefined;
    const permissions = effectivePermissions(m, teams.map((t) => t.policies));
    this.#knownPermissions.set(m.id, permissions);
    return permissions;
  }

  async teams(organizationId: string): Promise<TeamView[]> {
    await this.requireEnter(organizationId);
    return (await this.#organizationTeams.load(organizationId)).teams;
  }

  /**
   * Teams of a membership. For the viewer's own memberships this reuses the
   * organization's team list (flagged with the viewer's teams): no extra statement.
   */
  async membershipTeams(m: MembershipView): Promise<TeamView[]> {
    if (m.userId === this.principal.userId) {
      if (!canEnter(m)) return [];
      const entry = await this.#organizationTeams.load(m.organizationId);
      return entry.teams.filter((t) => entry.viewerTeamKeys.has(t.key));
    }
    await this.requireEnter(m.organizationId);
    return this.#membershipTeams.load(m.id);
  }

  async permissions(m: MembershipView): Promise<string[]> {
    if (!canEnter(m)) return [];
    const known = this.#knownPermissions.get(m.id);
    if (known) return known;
    const teams = await this.membershipTeams(m);
    return effectivePermissions(m, teams.map((t) => t.policies));
  }

  /** A user seen through a membership the viewer may read. */
  async user(userId: string): Promise<UserView> {
    const u = await this.#users.load(userId);
    if (!u) throw notFound('User', userId);
    return u;
  }
}

/** One organization's teams entry from the tuples teamsJsonSql builds. */
const teamsEntry = (tuples: readonly TeamTuple[], organizationId: string, later?: TimestampReader): OrgTeamsEntry => {
  const entry: OrgTeamsEntry = { teams: [], viewerTeamKeys: new Set() };
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

const pageOf = <T>(items: { cursor: string; node: T }[], totalCount: number, hasNextPage: boolean, hasPreviousPage: boolean): Page<T> => ({
  items,
  totalCount,
  hasNextPage,
  hasPreviousPage,
  startCursor: items[0]?.cursor ?? null,
  endCursor: items.at(-1)?.cursor ?? null,
});
