/**
 * Reads SCIM User views of one organization in a fixed number of statements
 * (one for the page, one for the teams of the whole page), whatever the page size.
 */
import type { SqlRunner } from '../../persistence/orm.js';
import type { OrganizationRole, UserStatus } from '../model/index.js';
import type { SqlFragment } from './filter-sql.js';
import type { ScimEmail, ScimGroupRef, ScimUserView } from './types.js';
import { dateFromDb } from '../../persistence/timestamps.js';
import { userNameOf } from './user-name.js';

interface UserRow {
  u_id: string;
  u_email: string;
  u_display_name: string | null;
  u_updated_at: unknown;
  m_id: string;
  m_organization_id: string;
  m_role: OrganizationRole;
  m_status: UserStatus;
  m_created_at: unknown;
  m_updated_at: unknown;
  s_user_name: string | null;
  s_external_id: string | null;
  s_attributes: unknown;
  s_updated_at: unknown;
  groups: unknown;
  total?: string | number;
}

const SELECT = `select u.id as u_id, u.email as u_email, u.display_name as u_display_name, u.updated_at as u_updated_at,
       m.id as m_id, m.organization_id as m_organization_id, m.role as m_role, m.status as m_status,
       m.created_at as m_created_at, m.updated_at as m_updated_at,
       s.user_name as s_user_name, s.external_id as s_external_id, s.attributes as s_attributes, s.updated_at as s_updated_at,
       (select coalesce(json_agg(json_build_object('id', t.team_id, 'name', t.name) order by t.team_id), '[]'::json)
          from team_members tm join teams t on t.key = tm.team_key where tm.membership_id = m.id) as groups
  from memberships m
  join users u on u.id = m.user_id
  left join scim_users s on s.membership_id = m.id`;

const date = dateFromDb;
const latest = (...ds: unknown[]): Date => new Date(Math.max(...ds.filter((d) => d != null).map((d) => date(d).getTime())));
const json = (v: unknown): Record<string, unknown> => {
  const o = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  return o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : {};
};

/** Stored emails, or the identity email alone for members SCIM has not touched. */
const emailsOf = (attributes: Record<string, unknown>, email: string): ScimEmail[] => {
  const stored = attributes.emails;
  if (Array.isArray(stored) && stored.length > 0) return stored as ScimEmail[];
  return [{ value: email, primary: true, type: 'work' }];
};

const toView = (r: UserRow, groups: ScimGroupRef[]): ScimUserView => {
  const all = json(r.s_attributes);
  const { emails: _emails, ...attributes } = all;
  return {
    id: r.u_id,
    membershipId: r.m_id,
    organizationId: r.m_organization_id,
    userName: userNameOf(r.s_user_name, r.u_email),
    externalId: r.s_external_id,
    email: r.u_email,
    displayName: r.u_display_name,
    role: r.m_role,
    status: r.m_status,
    emails: emailsOf(all, r.u_email),
    attributes,
    groups,
    createdAt: date(r.m_created_at),
    updatedAt: latest(r.m_updated_at, r.u_updated_at, r.s_updated_at),
  };
};

/**
 * One page of Users, teams included, in one statement. With `withTotal`, every row also
 * carries the size of the whole filtered set (a window count; used for filtered lists,
 * which are small, so that a lookup is a single statement).
 */
export const loadUserViews = async (
  em: SqlRunner,
  organizationId: string,
  where: SqlFragment | null,
  page: { limit: number; offset: number },
  withTotal = false,
): Promise<{ items: ScimUserView[]; total: number | undefined }> => {
  if (page.limit <= 0) return { items: [], total: undefined };
  const rows = await em.execute<UserRow[]>(
    `${SELECT.replace(' as groups', ` as groups${withTotal ? ', count(*) over () as total' : ''}`)}
      where m.organization_id = ?${where ? ` and ${where.sql}` : ''} order by m.id limit ? offset ?`,
    [organizationId, ...(where?.params ?? []), page.limit, page.offset],
  );
  const items = rows.map((r) => toView(r, (typeof r.groups === 'string' ? JSON.parse(r.groups) : r.groups) as ScimGroupRef[]));
  return { items, total: withTotal && rows.length ? Number(rows[0]!.total) : undefined };
};

export const countUsers = async (em: SqlRunner, organizationId: string, where: SqlFragment | null): Promise<number> => {
  const rows = await em.execute<{ n: string | number }[]>(
    `select count(*) as n from memberships m ${where ? 'join users u on u.id = m.user_id left join scim_users s on s.membership_id = m.id' : ''}
      where m.organization_id = ?${where ? ` and ${where.sql}` : ''}`,
    [organizationId, ...(where?.params ?? [])],
  );
  return Number(rows[0]?.n ?? 0);
};

export const loadUserView = async (em: SqlRunner, organizationId: string, userId: string): Promise<ScimUserView | null> =>
  (await loadUserViews(em, organizationId, { sql: 'm.user_id = ?', params: [userId] }, { limit: 1, offset: 0 })).items[0] ?? null;
