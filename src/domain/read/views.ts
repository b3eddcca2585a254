/** Views of what a write returned (entities), in the shape the read side answers. */
import type { MembershipEntity, OrganizationEntity, TeamEntity, UserEntity } from '../../persistence/entities.js';
import type { MembershipView, OrganizationView, TeamView, UserView } from '../model/index.js';

const refId = (r: string | { id: string }): string => (typeof r === 'string' ? r : r.id);

export const userView = (u: UserEntity): UserView => ({
  id: u.id,
  email: u.email,
  displayName: u.displayName ?? null,
  lastVisitedOrganizationId: u.lastVisitedOrganization ? refId(u.lastVisitedOrganization) : null,
  createdAt: u.createdAt,
});

export const organizationView = (o: OrganizationEntity): OrganizationView => ({
  id: o.id,
  name: o.name,
  automaticUserAccess: { enabled: o.autoAccessEnabled, defaultRole: o.autoAccessDefaultRole, allowedDomains: [...o.autoAccessDomains] },
  createdAt: o.createdAt,
});

export const membershipView = (m: MembershipEntity): MembershipView => ({
  id: m.id,
  userId: refId(m.user),
  organizationId: refId(m.organization),
  role: m.role,
  status: m.status,
  source: m.source,
  lastVisitedAt: m.lastVisitedAt ?? null,
  createdAt: m.createdAt,
  updatedAt: m.updatedAt,
});

export const teamView = (t: TeamEntity): TeamView => ({
  key: t.key,
  id: t.teamId,
  organizationId: refId(t.organization),
  name: t.name,
  policies: [...t.policies],
  externalId: t.externalId ?? null,
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
});
