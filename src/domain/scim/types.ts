/**
 * The SCIM domain's vocabulary: who calls (a SCIM token of one organization), what a
 * client asks a User or Group to be, and what the domain returns. The transport turns
 * SCIM JSON into these and back (src/transports/scim/); the domain never sees HTTP.
 */
import { DomainError, type ErrorCode, type ErrorDetails, type OrganizationRole, type UserStatus } from '../model/index.js';

/** The caller of every SCIM use case: one token, one organization. */
export interface ScimPrincipal {
  tokenId: string;
  organizationId: string;
  /** Who created the token (null for tokens made outside GraphQL): its requests count against that user too. */
  createdByUserId: string | null;
}

/**
 * RFC 7644 §3.12 `scimType` values the domain can decide. The transport maps
 * DomainError codes to HTTP statuses; where a SCIM-specific kind of failure applies,
 * the domain names it in `details.scimType`.
 */
export type ScimErrorType = 'invalidFilter' | 'invalidSyntax' | 'invalidPath' | 'invalidValue' | 'uniqueness' | 'mutability' | 'noTarget' | 'tooMany';

export const scimError = (code: ErrorCode, scimType: ScimErrorType | null, message: string, details: ErrorDetails = {}): DomainError =>
  new DomainError(code, message, scimType ? { ...details, scimType } : details);

export interface ScimEmail {
  value: string;
  type?: string | null;
  primary?: boolean | null;
  display?: string | null;
}

/** What a client asks a User to be in this organization (POST, PUT, or the result of a PATCH). */
export interface ScimUserInput {
  userName: string;
  externalId: string | null;
  /** `undefined`: POST → active; PUT/PATCH → leave the status as it is. */
  active: boolean | undefined;
  /**
   * The shared display name. A string sets it; `null`/`undefined` derive it from
   * `attributes.name` (formatted, else given + family) and otherwise leave it as it is.
   */
  displayName: string | null | undefined;
  /** Kept per organization; the primary one (else `type: work`, else the first) is the identity email. */
  emails: ScimEmail[];
  /** Other attributes kept for this organization only (name, title, phoneNumbers, the enterprise extension…). */
  attributes: Record<string, unknown>;
}

export interface ScimGroupRef {
  id: string;
  name: string;
}

export interface ScimUserView {
  /** The SCIM id: the user id (the same identity in every organization). */
  id: string;
  membershipId: string;
  organizationId: string;
  userName: string;
  externalId: string | null;
  /** The shared identity. */
  email: string;
  displayName: string | null;
  role: OrganizationRole;
  status: UserStatus;
  emails: ScimEmail[];
  attributes: Record<string, unknown>;
  groups: ScimGroupRef[];
  createdAt: Date;
  updatedAt: Date;
}

export interface ScimGroupInput {
  displayName: string;
  externalId: string | null;
  /** User ids. `undefined`: leave the members as they are. */
  members: string[] | undefined;
}

export interface ScimGroupMember {
  userId: string;
  /** The member's display name, else email. */
  display: string;
  /** Where this team membership came from; SAML ones are never changed by SCIM. */
  source: string;
}

export interface ScimGroupView {
  id: string;
  key: string;
  organizationId: string;
  displayName: string;
  externalId: string | null;
  /** Present when asked for (members can be many). */
  members: ScimGroupMember[] | undefined;
  createdAt: Date;
  updatedAt: Date;
}

export interface ListQuery<F> {
  filter: F | null;
  /** 1-based (RFC 7644 §3.4.2.4). */
  startIndex: number;
  count: number;
}

export interface ListResult<T> {
  totalResults: number;
  startIndex: number;
  items: T[];
}

export type UserFilterAttribute = 'userName' | 'externalId' | 'email' | 'id';
export type GroupFilterAttribute = 'displayName' | 'externalId' | 'id';

/** The filters the service provider evaluates: `eq` leaves combined with `and` / `or`. */
export type ScimFilter<A extends string> = { op: 'eq'; attribute: A; value: string } | { op: 'and' | 'or'; filters: ScimFilter<A>[] };
export type UserFilter = ScimFilter<UserFilterAttribute>;
export type GroupFilter = ScimFilter<GroupFilterAttribute>;

/** The most resources one list response returns (ServiceProviderConfig `filter.maxResults`). */
export const SCIM_MAX_RESULTS = 500;
/** Page size when the client gives no `count`. */
export const SCIM_DEFAULT_COUNT = 100;
/** Most members one request may add or remove. */
export const SCIM_MAX_MEMBER_CHANGES = 10_000;
