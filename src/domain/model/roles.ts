/** Organization roles, highest first (SPEC §1). */
export const ORGANIZATION_ROLES = ['ORG_ADMIN', 'ADMIN', 'MEMBER', 'VIEWER', 'NO_ACCESS'] as const;
export type OrganizationRole = (typeof ORGANIZATION_ROLES)[number];

export const isOrganizationRole = (value: string): value is OrganizationRole =>
  (ORGANIZATION_ROLES as readonly string[]).includes(value);

/** Larger is higher. */
export const roleRank = (role: OrganizationRole): number => ORGANIZATION_ROLES.length - ORGANIZATION_ROLES.indexOf(role);

export const higherRole = (a: OrganizationRole, b: OrganizationRole): OrganizationRole =>
  roleRank(a) >= roleRank(b) ? a : b;

/** Roles that SAML, JIT and SCIM may grant: everything but ORG_ADMIN. */
export const ROLES_GRANTABLE_BY_AUTOMATION: readonly OrganizationRole[] = ['ADMIN', 'MEMBER', 'VIEWER', 'NO_ACCESS'];

/**
 * Built-in permissions of each role. Team policies add to these.
 * The strings are the vocabulary downstream services check in the `perms` claim.
 */
export const ROLE_PERMISSIONS: Readonly<Record<OrganizationRole, readonly string[]>> = {
  ORG_ADMIN: [
    'organization:read',
    'account:use',
    'account:write',
    'organization:admin',
    'members:manage',
    'teams:manage',
    'sso:manage',
    'scim:manage',
  ],
  ADMIN: ['organization:read', 'account:use', 'account:write'],
  MEMBER: ['organization:read', 'account:use'],
  VIEWER: ['organization:read'],
  NO_ACCESS: [],
};
