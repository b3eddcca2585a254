/** SPEC §2 step 6: where a SAML sign-in lands. Pure, so it is tested on its own. */
import { canEnter, type OrganizationRole, type UserStatus } from '../model/index.js';

export interface LandingCandidate {
  organizationId: string;
  organizationName: string;
  role: OrganizationRole;
  status: UserStatus;
}

/** Named outcome: which rule picked the organization. */
export type Landing =
  | { rule: 'RELAY_STATE' | 'LAST_VISITED' | 'FIRST_BY_NAME'; organizationId: string }
  | { rule: 'NONE'; organizationId: null };

/**
 * The RelayState organization if it can be entered, else the last visited one if it
 * can be entered, else the first that can be entered by name (case-insensitive, then
 * id, as `Viewer.organizations` orders them). None → NONE (the sign-in is NO_ACCESS).
 */
export const chooseLanding = (memberships: readonly LandingCandidate[], relayStateOrganizationId: string | null, lastVisitedOrganizationId: string | null): Landing => {
  const enterable = memberships.filter(canEnter);
  const has = (id: string | null) => id !== null && enterable.some((m) => m.organizationId === id);
  if (has(relayStateOrganizationId)) return { rule: 'RELAY_STATE', organizationId: relayStateOrganizationId! };
  if (has(lastVisitedOrganizationId)) return { rule: 'LAST_VISITED', organizationId: lastVisitedOrganizationId! };
  const first = [...enterable].sort((a, b) => {
    const x = a.organizationName.toLowerCase();
    const y = b.organizationName.toLowerCase();
    return x < y ? -1 : x > y ? 1 : a.organizationId < b.organizationId ? -1 : a.organizationId > b.organizationId ? 1 : 0;
  })[0];
  return first ? { rule: 'FIRST_BY_NAME', organizationId: first.organizationId } : { rule: 'NONE', organizationId: null };
};
