/**
 * How a session proved who its user is (SPEC §6). An organization accepts a session only
 * through one of these: its trusted connections (`SSO:<connectionId>`), mailbox control
 * (`EMAIL`, unless it requires SSO), or the operator's CLI (`OPERATOR`, always).
 */
export type Authentication = 'OPERATOR' | 'EMAIL' | `SSO:${string}`;

export const ssoAuthentication = (connectionId: string): Authentication => `SSO:${connectionId}`;

/** What the access rule needs to know of a principal's authentications, in the shape its SQL takes. */
export interface AuthenticationScope {
  operator: boolean;
  email: boolean;
  /** Connection ids of the `SSO:` authentications. */
  connectionIds: string[];
}

export const isAuthentication = (value: string): value is Authentication =>
  value === 'OPERATOR' || value === 'EMAIL' || /^SSO:[A-Za-z0-9_-]{1,64}$/.test(value);

export const authenticationScope = (authentications: readonly string[]): AuthenticationScope => {
  const scope: AuthenticationScope = { operator: false, email: false, connectionIds: [] };
  for (const a of authentications) {
    if (a === 'OPERATOR') scope.operator = true;
    else if (a === 'EMAIL') scope.email = true;
    else if (a.startsWith('SSO:')) scope.connectionIds.push(a.slice(4));
  }
  return scope;
};

/** The union of two lists of authentications, in a stable order (sessions that add a sign-in). */
export const mergeAuthentications = (a: readonly Authentication[], b: readonly Authentication[]): Authentication[] => [...new Set([...a, ...b])].sort();
