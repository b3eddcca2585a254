/** The SSO sign-in's state, read in one statement (the rules themselves are in the domain's planner). */
import type { MembershipSource, OrganizationRole, UserStatus } from '../../domain/model/index.js';
import type { Em } from '../orm.js';

interface MembershipRow {
  id: string;
  organization_id: string;
  name: string;
  /** The organization trusts the connection signing in (the sign-in may change and land there). */
  trusts: boolean;
  role: OrganizationRole;
  status: UserStatus;
  source: MembershipSource;
}

interface TrustedOrganizationRow {
  id: string;
  name: string;
  auto_access_enabled: boolean;
  auto_access_default_role: OrganizationRole;
  auto_access_domains: string[];
}

export interface SignInState {
  connection: { id: string; attribute_prefix: string; default_organization_id: string | null; allow_idp_initiated: boolean } | null;
  user: { id: string; email: string; last_visited_organization_id: string | null } | null;
  memberships: MembershipRow[];
  trusted: TrustedOrganizationRow[];
  teams: { key: string; organization_id: string; team_id: string }[];
  teamMembers: { membership_id: string; team_key: string; source: MembershipSource }[];
}

/**
 * One statement: the connection, the user, the user's memberships (locked FOR UPDATE, so a
 * concurrent admin change — e.g. DISABLED — is not overwritten), the organizations that
 * trust the connection and matter (named, automatic access, or holding one of the user's
 * SAML memberships), the named teams and the user's team memberships in those organizations.
 */
export const readSignInState = async (em: Em, connectionId: string, email: string, named: string[], groupOrganizations: string[], teamIds: string[]): Promise<SignInState> => {
  const rows = await em.execute<Record<string, unknown>[]>(
    `with u as (select id, email, last_visited_organization_id from users where email = ?),
          ms as (select m.id, m.organization_id, m.role, m.status, m.source from memberships m where m.user_id = (select id from u) for update)
     select
       (select row_to_json(c) from (select id, attribute_prefix, default_organization_id, allow_idp_initiated from saml_connections where id = ?) c) as connection,
       (select row_to_json(u) from u) as "user",
       (select coalesce(json_agg(json_build_object('id', ms.id, 'organization_id', ms.organization_id, 'name', o.name, 'role', ms.role, 'status', ms.status, 'source', ms.source,
                 'trusts', exists (select 1 from saml_trusts st where st.connection_id = ? and st.organization_id = ms.organization_id))), '[]')
          from ms join organizations o on o.id = ms.organization_id) as memberships,
       (select coalesce(json_agg(json_build_object('id', o.id, 'name', o.name, 'auto_access_enabled', o.auto_access_enabled,
                 'auto_access_default_role', o.auto_access_default_role, 'auto_access_domains', o.auto_access_domains)), '[]')
          from saml_trusts t join organizations o on o.id = t.organization_id
         where t.connection_id = ?
           and (o.auto_access_enabled
                or o.id in (select jsonb_array_elements_text(?::jsonb))
                or o.id in (select organization_id from ms where source = 'SAML'))) as trusted,
       (select coalesce(json_agg(json_build_object('key', t.key, 'organization_id', t.organization_id, 'team_id', t.team_id)), '[]')
          from teams t where t.organization_id in (select jsonb_array_elements_text(?::jsonb)) and t.team_id in (select jsonb_array_elements_text(?::jsonb))) as teams,
       (select coalesce(json_agg(json_build_object('membership_id', tm.membership_id, 'team_key', tm.team_key, 'source', tm.source)), '[]')
          from team_members tm join ms on ms.id = tm.membership_id where ms.organization_id in (select jsonb_array_elements_text(?::jsonb))) as team_members`,
    [email, connectionId, connectionId, connectionId, JSON.stringify(named), JSON.stringify(groupOrganizations), JSON.stringify(teamIds), JSON.stringify(groupOrganizations)],
  );
  const r = rows[0] ?? {};
  const json = <T>(v: unknown, fallback: T): T => (v == null ? fallback : typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
  return {
    connection: json(r.connection, null),
    user: json(r.user, null),
    memberships: json(r.memberships, []),
    trusted: json(r.trusted, []),
    teams: json(r.teams, []),
    teamMembers: json(r.team_members, []),
  };
};

