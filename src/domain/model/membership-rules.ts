import { ROLE_PERMISSIONS, type OrganizationRole } from './roles.js';
import type { UserStatus } from './statuses.js';

/** Where a membership (or a team membership) came from. */
export const MEMBERSHIP_SOURCES = ['MANUAL', 'SAML', 'JIT', 'SCIM'] as const;
export type MembershipSource = (typeof MEMBERSHIP_SOURCES)[number];

export const MEMBERSHIP_EVENT_TYPES = ['JOINED', 'ROLE_CHANGED', 'STATUS_CHANGED', 'TEAMS_CHANGED', 'LEFT'] as const;
export type MembershipEventType = (typeof MEMBERSHIP_EVENT_TYPES)[number];
export const isMembershipEventType = (value: string): value is MembershipEventType => (MEMBERSHIP_EVENT_TYPES as readonly string[]).includes(value);

/**
 * A membership can be entered when it is not DISABLED and its role is not NO_ACCESS.
 * Written again in SQL where a statement decides in one step: canEnterSql below.
 */
export const canEnter = (m: { role: OrganizationRole; status: UserStatus }): boolean =>
  m.status !== 'DISABLED' && m.role !== 'NO_ACCESS';

/** `canEnter` as a SQL condition on a memberships alias. */
export const canEnterSql = (alias: string): string => `${alias}.status <> 'DISABLED' and ${alias}.role <> 'NO_ACCESS'`;

/** Role built-ins ∪ team policies, sorted; empty when the membership cannot be entered. */
export const effectivePermissions = (
  m: { role: OrganizationRole; status: UserStatus },
  teamPolicies: readonly (readonly string[])[],
): string[] => {
  if (!canEnter(m)) return [];
  const all = new Set<string>(ROLE_PERMISSIONS[m.role]);
  for (const policies of teamPolicies) for (const p of policies) all.add(p);
  return [...all].sort();
};
