import type { MembershipEventType, MembershipSource, OrganizationRole, UserStatus } from './gql/graphql';

export const ROLES: OrganizationRole[] = ['ORG_ADMIN', 'ADMIN', 'MEMBER', 'VIEWER', 'NO_ACCESS'];
export const STATUSES: UserStatus[] = ['STAGED', 'INVITED', 'ACTIVE', 'DISABLED'];

const ROLE_LABELS: Record<OrganizationRole, string> = {
  ORG_ADMIN: 'Organization admin',
  ADMIN: 'Admin',
  MEMBER: 'Member',
  VIEWER: 'Viewer',
  NO_ACCESS: 'No access',
};
const STATUS_LABELS: Record<UserStatus, string> = { STAGED: 'Staged', INVITED: 'Invited', ACTIVE: 'Active', DISABLED: 'Disabled' };
const SOURCE_LABELS: Record<MembershipSource, string> = { MANUAL: 'Manual', SAML: 'SAML', JIT: 'automatic access', SCIM: 'SCIM' };

export const roleLabel = (role: OrganizationRole) => ROLE_LABELS[role];
export const statusLabel = (status: UserStatus) => STATUS_LABELS[status];
export const sourceLabel = (source: MembershipSource) => SOURCE_LABELS[source];

export const EVENT_TYPES: MembershipEventType[] = ['JOINED', 'ROLE_CHANGED', 'STATUS_CHANGED', 'TEAMS_CHANGED', 'LEFT'];
const EVENT_TYPE_LABELS: Record<MembershipEventType, string> = {
  JOINED: 'Joined',
  ROLE_CHANGED: 'Role changed',
  STATUS_CHANGED: 'Status changed',
  TEAMS_CHANGED: 'Teams changed',
  LEFT: 'Left',
};
export const eventTypeLabel = (type: MembershipEventType) => EVENT_TYPE_LABELS[type];
