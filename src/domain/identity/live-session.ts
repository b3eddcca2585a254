/** The one definition of a session (or API token) that can still authenticate: not signed out, not expired. `?` is now. */
export const liveSessionSql = (alias: string): string => `${alias}.revoked_at is null and (${alias}.expires_at is null or ${alias}.expires_at > ?)`;
