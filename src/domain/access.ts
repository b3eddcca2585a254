/**
 * Who may see and change what — the one place that decides it (SPEC §6).
 *
 * A principal may act in an organization when one of its authentications is accepted there
 * now (`acceptsSql`: a trusted connection, EMAIL unless the organization requires SSO, or
 * OPERATOR) AND it has a membership there. Outside that scope an organization is exactly
 * like one the user is not a member of: NOT_FOUND, never leaked. Inside it, "member who
 * cannot enter" and "not ORG_ADMIN" are FORBIDDEN.
 */
import { Membership, type MembershipEntity, Organization, type OrganizationEntity } from '../persistence/entities.js';
import type { Em, SqlRunner } from '../persistence/orm.js';
import { type Authentication, type AuthenticationScope, canEnter, DomainError, notFound } from './model/index.js';

/** The authenticated caller of a use case. */
export interface Principal {
  userId: string;
  sessionId: string;
  sessionKind: 'SESSION' | 'API_TOKEN';
  currentOrganizationId: string | null;
  /** How the session proved who the user is; decides where it may act. */
  authentications: readonly Authentication[];
  /** The same, as the access rule's SQL takes it (`acceptsParams`). */
  scope: AuthenticationScope;
  /** The user row read with the session (saves a statement per request). */
  user?: { id: string; email: string; displayName: string | null; lastVisitedOrganizationId: string | null; createdAt: Date };
}

/**
 * The principal after switchOrganization entered `organizationId`: it is the current and the
 * last visited organization. Changed in place: the rest of the request (and, over graphql-ws,
 * the connection's later operations) hold this same principal.
 */
export const enterOrganization = (principal: Principal, organizationId: string): void => {
  principal.currentOrganizationId = organizationId;
  if (principal.user) principal.user = { ...principal.user, lastVisitedOrganizationId: organizationId };
};

export type AccessNeed = 'member' | 'enter' | 'admin';

export const findMembership = (em: Em, userId: string, organizationId: string): Promise<MembershipEntity | null> =>
  em.findOne(Membership, { user: userId, organization: organizationId }, { populate: ['organization'] });

export const organizationNotFound = (id: string): DomainError => notFound('Organization', id);

const PARAMETERS = { operator: '?::boolean', email: '?::boolean', connectionIds: '?::text[]' };

/**
 * SQL condition: organization `org` (an alias of `organizations`) accepts the principal's
 * authentications now. Takes the three parameters of `acceptsParams`, in that order (or, for a
 * statement checking many principals at once, SQL expressions of the same three). Trust is
 * read at the time of the statement, so untrusting a connection cuts its sessions off at once.
 */
export const acceptsSql = (org: string, scope: { operator: string; email: string; connectionIds: string } = PARAMETERS): string =>
  `(${scope.operator} or (${scope.email} and not ${org}.require_sso)
    or exists (select 1 from saml_trusts st where st.organization_id = ${org}.id and st.connection_id = any(${scope.connectionIds})))`;

/** Connection ids are `[A-Za-z0-9_-]` only (isAuthentication), so the array literal needs no quoting. */
export const acceptsParams = (p: Pick<Principal, 'scope'>): [boolean, boolean, string] => [p.scope.operator, p.scope.email, `{${p.scope.connectionIds.join(',')}}`];

/** Does the organization accept the principal's authentications (SPEC §6)? */
export const acceptsPrincipal = async (sql: SqlRunner, principal: Pick<Principal, 'scope'>, organizationId: string): Promise<boolean> => {
  const rows = await sql.execute<unknown[]>(`select 1 from organizations o where o.id = ? and ${acceptsSql('o')}`, [organizationId, ...acceptsParams(principal)]);
  return rows.length > 0;
};

/**
 * Loads the caller's membership in an organization in its scope and checks it meets `need`:
 * `member` (listed, possibly unable to enter), `enter`, or `admin` (ORG_ADMIN who can enter).
 */
export const requireAccess = async (
  em: Em,
  principal: Principal,
  organizationId: string,
  need: AccessNeed,
): Promise<{ membership: MembershipEntity; organization: OrganizationEntity }> => {
  const membership = await findMembership(em, principal.userId, organizationId);
  if (!membership || !(await acceptsPrincipal(em, principal, organizationId))) throw organizationNotFound(organizationId);
  assertAccess(membership, need);
  return { membership, organization: membership.organization.getEntity() };
};

export const assertAccess = (membership: { role: MembershipEntity['role']; status: MembershipEntity['status']; organization: { id: string } }, need: AccessNeed): void => {
  if (need === 'member') return;
  if (!canEnter(membership)) {
    const why = membership.status === 'DISABLED' ? 'your membership is DISABLED' : 'your role is NO_ACCESS';
    throw new DomainError('FORBIDDEN', `You cannot enter organization "${membership.organization.id}": ${why}. Ask one of its ORG_ADMINs.`, {
      organizationId: membership.organization.id,
    });
  }
  if (need === 'admin' && membership.role !== 'ORG_ADMIN')
    throw new DomainError('FORBIDDEN', `This needs the ORG_ADMIN role in organization "${membership.organization.id}"; you are ${membership.role}.`, {
      organizationId: membership.organization.id,
      required: 'ORG_ADMIN',
    });
};

export const loadOrganization = async (em: Em, id: string): Promise<OrganizationEntity> => {
  const org = await em.findOne(Organization, { id });
  if (!org) throw organizationNotFound(id);
  return org;
};
