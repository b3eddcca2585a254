/**
 * The membership rules of an SSO sign-in as a pure function: what the user has (memberships,
 * team memberships), what the identity provider asserted (attributes, RelayState), and which
 * organizations accept the connection → the named changes to make and where the sign-in
 * lands. No database, no clock: unit-tested on its own, applied by the service through the
 * membership writer, and independent of the protocol that carried the attributes.
 *
 * Steps (docs/saml.md): 1 OrgAndRole, else 2 RelayState (or the default organization) and
 * Role; 3 automatic user access; 4 OrgAndUserGroups; 5 what was asserted becomes ACTIVE;
 * 6 landing.
 */
import { decideAutomaticAccess, DomainError, type MembershipSource, type OrganizationRole, transition, truncate, type UserStatus } from '../model/index.js';
import { ORG_AND_ROLE, ORG_AND_USER_GROUPS } from './attributes.js';
import { chooseLanding, type Landing } from './landing.js';

export interface PlannedMembership {
  id: string;
  organizationId: string;
  organizationName: string;
  /** The organization accepts the connection signing in (the sign-in may change and land there). */
  trusts: boolean;
  role: OrganizationRole;
  status: UserStatus;
  source: MembershipSource;
}

export interface AcceptingOrganization {
  id: string;
  name: string;
  automaticAccess: { enabled: boolean; defaultRole: OrganizationRole; allowedDomains: string[] };
}

export interface PlanTeam {
  key: string;
  organizationId: string;
  teamId: string;
}

export interface SignInPlanInput {
  email: string;
  connectionId: string;
  /** OrgAndRole is in the assertion (even with none of our values). */
  orgAndRolePresent: boolean;
  orgRoles: ReadonlyMap<string, OrganizationRole>;
  groups: ReadonlyMap<string, ReadonlySet<string>>;
  roleAttribute: OrganizationRole | null;
  /** Step 2's organization (RelayState, else the connection's default) and which of the two named it; null with OrgAndRole. */
  step2: { organizationId: string; namedBy: string } | null;
  relayState: string | null;
  lastVisitedOrganizationId: string | null;
  memberships: readonly PlannedMembership[];
  /** Organizations that accept the connection and matter to this sign-in. */
  accepting: readonly AcceptingOrganization[];
  /** The named teams that exist. */
  teams: readonly PlanTeam[];
  teamMembers: readonly { membershipId: string; teamKey: string; source: MembershipSource }[];
}

export type MembershipChange =
  /** An existing membership's role as asserted, and source SAML from now on. */
  | { kind: 'ASSERT_ROLE'; organizationId: string; role: OrganizationRole }
  | { kind: 'JOIN'; organizationId: string; role: OrganizationRole; source: 'SAML' | 'JIT' }
  /** A SAML-managed membership OrgAndRole no longer names. */
  | { kind: 'DEMOTE_NO_ACCESS'; organizationId: string }
  | { kind: 'SET_TEAMS'; organizationId: string; add: PlanTeam[]; removeTeamKeys: string[] }
  | { kind: 'ACTIVATE'; organizationId: string; status: UserStatus };

export interface SignInPlan {
  changes: MembershipChange[];
  /** The user's memberships after the changes, in the organizations that accept the connection. */
  inScope: { organizationId: string; organizationName: string; role: OrganizationRole; status: UserStatus }[];
  landing: Landing;
}

export const unknownOrganization = (what: string, organizationId: string, connectionId: string): DomainError =>
  new DomainError(
    'UNKNOWN_ORGANIZATION',
    `${what} names organization "${truncate(organizationId)}", which does not exist or does not trust this SAML connection. ` +
      `Fix the value at the identity provider, or ask an ORG_ADMIN of that organization to trust connection ${connectionId}.`,
    { organizationId: truncate(organizationId) },
  );

interface Current {
  existing: PlannedMembership | null;
  name: string;
  role: OrganizationRole;
  status: UserStatus;
}

export const planSignIn = (input: SignInPlanInput): SignInPlan => {
  const { orgRoles, groups, connectionId } = input;
  const accepting = new Map(input.accepting.map((o) => [o.id, o]));
  for (const id of orgRoles.keys()) if (!accepting.has(id)) throw unknownOrganization(ORG_AND_ROLE, id, connectionId);
  if (input.step2 && !accepting.has(input.step2.organizationId)) throw unknownOrganization(input.step2.namedBy, input.step2.organizationId, connectionId);
  for (const id of groups.keys()) if (!accepting.has(id)) throw unknownOrganization(ORG_AND_USER_GROUPS, id, connectionId);
  const teamsByName = new Map(input.teams.map((t) => [`${t.organizationId}\n${t.teamId}`, t]));
  for (const [organizationId, ids] of groups)
    for (const teamId of ids)
      if (!teamsByName.has(`${organizationId}\n${teamId}`))
        throw new DomainError(
          'UNKNOWN_TEAM',
          `OrgAndUserGroups names team "${teamId}" in organization "${organizationId}", which has no such team. Create the team in orgway or fix the value at the identity provider.`,
          { organizationId, teamId },
        );

  const changes: MembershipChange[] = [];
  const byOrganization = new Map<string, Current>(
    input.memberships.map((m) => [m.organizationId, { existing: m, name: m.organizationName, role: m.role, status: m.status }]),
  );
  const asserted = new Set<string>();
  const join = (organizationId: string, role: OrganizationRole, source: 'SAML' | 'JIT') => {
    changes.push({ kind: 'JOIN', organizationId, role, source });
    byOrganization.set(organizationId, { existing: null, name: accepting.get(organizationId)!.name, role, status: 'ACTIVE' });
  };
  // ORG_ADMIN is granted and removed only by an ORG_ADMIN or the CLI: an asserted role leaves it as it is.
  const assertRole = (organizationId: string, role: OrganizationRole | null, roleForNew: OrganizationRole) => {
    const current = byOrganization.get(organizationId);
    if (!current) return join(organizationId, roleForNew, 'SAML');
    if (role !== null && current.role !== 'ORG_ADMIN' && (current.role !== role || current.existing?.source !== 'SAML')) {
      changes.push({ kind: 'ASSERT_ROLE', organizationId, role });
      current.role = role;
    }
    asserted.add(organizationId);
  };

  // Step 1: OrgAndRole; a SAML-managed membership it no longer names drops to NO_ACCESS.
  if (input.orgAndRolePresent) {
    for (const [organizationId, role] of orgRoles) assertRole(organizationId, role, role);
    for (const m of input.memberships) {
      const current = byOrganization.get(m.organizationId)!;
      if (m.source === 'SAML' && accepting.has(m.organizationId) && !orgRoles.has(m.organizationId) && current.role !== 'ORG_ADMIN' && current.role !== 'NO_ACCESS') {
        changes.push({ kind: 'DEMOTE_NO_ACCESS', organizationId: m.organizationId });
        current.role = 'NO_ACCESS';
      }
    }
  }
  // Step 2: RelayState (or the default organization) and Role.
  else if (input.step2) {
    const organizationId = input.step2.organizationId;
    assertRole(organizationId, input.roleAttribute, input.roleAttribute ?? accepting.get(organizationId)!.automaticAccess.defaultRole);
  }

  // Step 3: automatic user access, in organization id order.
  for (const org of [...accepting.values()].sort((x, y) => (x.id < y.id ? -1 : 1))) {
    if (byOrganization.has(org.id)) continue;
    if (decideAutomaticAccess(org.automaticAccess, input.email) === 'JOIN') join(org.id, org.automaticAccess.defaultRole, 'JIT');
  }

  // Step 4: OrgAndUserGroups sets the SAML-sourced teams; teams from elsewhere stay.
  for (const [organizationId, ids] of groups) {
    const current = byOrganization.get(organizationId);
    if (!current)
      throw new DomainError(
        'INVALID_ATTRIBUTE',
        `OrgAndUserGroups names organization "${organizationId}", where the user is not a member: name it in OrgAndRole too (or give the user a membership there).`,
        { attribute: ORG_AND_USER_GROUPS, organizationId },
      );
    const have = current.existing ? input.teamMembers.filter((t) => t.membershipId === current.existing!.id) : [];
    const wanted = [...ids].map((teamId) => teamsByName.get(`${organizationId}\n${teamId}`)!);
    const wantedKeys = new Set(wanted.map((t) => t.key));
    const haveKeys = new Set(have.map((t) => t.teamKey));
    const removeTeamKeys = have.filter((t) => t.source === 'SAML' && !wantedKeys.has(t.teamKey)).map((t) => t.teamKey);
    const add = wanted.filter((t) => !haveKeys.has(t.key));
    if (removeTeamKeys.length || add.length) changes.push({ kind: 'SET_TEAMS', organizationId, add, removeTeamKeys });
  }

  // Step 5: what was asserted becomes ACTIVE, never from DISABLED.
  for (const organizationId of asserted) {
    const current = byOrganization.get(organizationId)!;
    if (current.status === 'DISABLED' || current.status === 'ACTIVE') continue;
    current.status = transition('ENTER', current.status, 'ACTIVE');
    changes.push({ kind: 'ACTIVATE', organizationId, status: current.status });
  }

  // Step 6: landing, only where the connection is accepted.
  const scope = new Set([...input.memberships.filter((m) => m.trusts).map((m) => m.organizationId), ...accepting.keys()]);
  const inScope = [...byOrganization.entries()]
    .filter(([organizationId]) => scope.has(organizationId))
    .map(([organizationId, c]) => ({ organizationId, organizationName: c.name, role: c.role, status: c.status }));
  const landing = chooseLanding(inScope, input.relayState, input.lastVisitedOrganizationId);
  return { changes, inScope, landing };
};
