/**
 * A member's SCIM userName, defined once for code and SQL: the userName SCIM gave it
 * (looked up by its lower-cased key) or, for a member SCIM has not touched yet, its email.
 */
import { normalizeEmail } from '../model/index.js';

export const userNameOf = (scimUserName: string | null, email: string): string => scimUserName ?? email;

/** Users' emails are stored canonical; a value that is no valid email simply matches no user. */
export const lookupEmail = (value: string): string => {
  try {
    return normalizeEmail(value);
  } catch {
    return value.toLowerCase();
  }
};

/** Ids of the memberships of one organization whose userName is `userName`, as SQL with its parameters. */
export const membershipsByUserName = (organizationId: string, userName: string): { sql: string; params: unknown[] } => ({
  sql: `select s.membership_id from scim_users s where s.organization_id = ? and s.user_name_key = ?
        union all
        select m2.id from users u2 join memberships m2 on m2.user_id = u2.id and m2.organization_id = ?
         where u2.email = ? and not exists (select 1 from scim_users s2 where s2.membership_id = m2.id)`,
  params: [organizationId, userName.toLowerCase(), organizationId, lookupEmail(userName)],
});
