/**
 * What the read side returns: plain views of users, organizations, memberships and teams,
 * and pages of them. Persistence builds them from rows; transports map them.
 */
import type { MembershipSource } from './membership-rules.js';
import type { OrganizationRole } from './roles.js';
import type { UserStatus } from './statuses.js';

export interface AutomaticUserAccessSettings {
  enabled: boolean;
  defaultRole: OrganizationRole;
  /** Lower-cased email domains; empty = every domain. */
  allowedDomains: string[];
}

/**
 * A value that may need a read: the Viewer page leaves out timestamps a query does not ask
 * for, and a view of it reads them in one batched statement if some other field does.
 */
export type Awaitable<T> = T | Promise<T>;

export interface UserView {
  id: string;
  email: string;
  displayName: string | null;
  lastVisitedOrganizationId: string | null;
  createdAt: Date;
}

export interface OrganizationView {
  id: string;
  name: string;
  automaticUserAccess: AutomaticUserAccessSettings;
  createdAt: Awaitable<Date>;
}

export interface MembershipView {
  id: string;
  userId: string;
  organizationId: string;
  role: OrganizationRole;
  status: UserStatus;
  source: MembershipSource;
  lastVisitedAt: Awaitable<Date | null>;
  createdAt: Awaitable<Date>;
  updatedAt: Awaitable<Date>;
}

export interface TeamView {
  key: string;
  id: string;
  organizationId: string;
  name: string;
  policies: string[];
  externalId: string | null;
  createdAt: Awaitable<Date>;
  updatedAt: Awaitable<Date>;
}

export interface Page<T> {
  items: { cursor: string; node: T }[];
  totalCount: number;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}
