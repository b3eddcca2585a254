/**
 * Views backed by the rows of raw reads. Their timestamps stay the driver's text until a
 * field asks for them: a page of the Viewer query holds ~500 of them and a typical query
 * reads none. A view made without its timestamps (`later` given) reads them when a field asks.
 */
import type {
  Awaitable,
  AutomaticUserAccessSettings,
  MembershipSource,
  MembershipView,
  OrganizationRole,
  OrganizationView,
  TeamView,
  UserStatus,
  UserView,
} from '../../domain/model/index.js';
import { dateFromDb } from '../timestamps.js';

export type Row = Record<string, unknown>;
const date = dateFromDb;
const nullableDate = (v: unknown): Date | null => (v == null ? null : date(v));
export const jsonArray = (v: unknown): string[] => (typeof v === 'string' ? (JSON.parse(v) as string[]) : ((v as string[] | null) ?? []));

/** Reads the timestamps of a row a view was made without; keys 'm:<membership id>', 'o:<organization id>', 't:<team key>'. */
export type TimestampReader = (key: string) => Promise<Row>;

/** A view's timestamp: its own value, or (made without it) `column` of the row read later under `key`. */
const timestamp = <T>(later: TimestampReader | undefined, key: string, column: string, own: unknown, parse: (v: unknown) => T): Awaitable<T> =>
  later ? later(key).then((t) => parse(t[column])) : parse(own);

export class MembershipFromRow implements MembershipView {
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
  /** `known`: user and organization when the statement did not select them (the caller knows). */
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

export class OrganizationFromRow implements OrganizationView {
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

export class TeamFromRow implements TeamView {
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

export const membershipFromRow = (r: Row, known?: { userId: string; organizationId: string }): MembershipView => new MembershipFromRow(r, known);

export const organizationFromRow = (r: Row): OrganizationView => new OrganizationFromRow(r);

export const userFromRow = (r: Row): UserView => ({
  id: r.u_id as string,
  email: r.u_email as string,
  displayName: (r.u_display_name as string | null) ?? null,
  lastVisitedOrganizationId: (r.u_last_visited_organization_id as string | null) ?? null,
  createdAt: date(r.u_created_at),
});

export const teamFromRow = (r: Row, organizationId?: string): TeamView => new TeamFromRow(r, organizationId);

/** Column lists for raw reads, named as the *FromRow views read them: memberships `m`, organizations `o`, users `u`, teams `t`. */
export const M_COLS = `m.id as m_id, m.user_id as m_user_id, m.organization_id as m_organization_id, m.role as m_role,
  m.status as m_status, m.source as m_source, m.last_visited_at as m_last_visited_at,
  m.created_at as m_created_at, m.updated_at as m_updated_at`;
export const O_COLS = `o.id as o_id, o.name as o_name, o.auto_access_enabled as o_auto_access_enabled,
  o.auto_access_default_role as o_auto_access_default_role, o.auto_access_domains as o_auto_access_domains,
  o.created_at as o_created_at`;
export const U_COLS = `u.id as u_id, u.email as u_email, u.display_name as u_display_name,
  u.last_visited_organization_id as u_last_visited_organization_id, u.created_at as u_created_at`;
export const T_COLS = `t.key as t_key, t.team_id as t_team_id, t.organization_id as t_organization_id, t.name as t_name,
  t.policies as t_policies, t.external_id as t_external_id, t.created_at as t_created_at, t.updated_at as t_updated_at`;
