/**
 * Where a user of an organization that requires SSO must sign in (SPEC §7): one of the
 * connections it trusts — the one it owns first, else the oldest trust.
 */
import type { SqlRunner } from '../../persistence/orm.js';
import { emailDomain } from '../model/index.js';

export interface SsoRoute {
  connectionId: string;
  organizationId: string;
}

const CONNECTION_OF = (org: string) => `(select st.connection_id from saml_trusts st join saml_connections c on c.id = st.connection_id
    where st.organization_id = ${org}.id
    order by (c.owner_organization_id = ${org}.id) desc, st.created_at, st.connection_id limit 1)`;

/** The connection an SSO-required organization sends its users to; null when it has none left. */
export const ssoConnectionOf = async (sql: SqlRunner, organizationId: string): Promise<string | null> => {
  const rows = await sql.execute<{ connection_id: string | null }[]>(`select ${CONNECTION_OF('o')} as connection_id from organizations o where o.id = ?`, [organizationId]);
  return rows[0]?.connection_id ?? null;
};

/**
 * Home-realm discovery: the email's domain is verified by an organization that requires SSO
 * → that organization's connection. Reveals the domain's routing, never whether the user exists.
 */
export const discoverSsoRoute = async (sql: SqlRunner, email: string): Promise<SsoRoute | null> => {
  const rows = await sql.execute<{ organization_id: string; connection_id: string | null }[]>(
    `select o.id as organization_id, ${CONNECTION_OF('o')} as connection_id
       from organization_domains d join organizations o on o.id = d.organization_id
      where d.verified_domain = ? and o.require_sso`,
    [emailDomain(email)],
  );
  const row = rows[0];
  return row?.connection_id ? { connectionId: row.connection_id, organizationId: row.organization_id } : null;
};
