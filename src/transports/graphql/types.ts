/**
 * GraphQL object types. Roots are the domain's read views (ReadScope), so these
 * classes only declare the shape; field resolvers in the resolver files fill the rest.
 */
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import {
  MEMBERSHIP_EVENT_TYPES,
  MEMBERSHIP_SOURCES,
  type MembershipEventType,
  type MembershipSource,
  ORGANIZATION_ROLES,
  type OrganizationRole,
  USER_STATUSES,
  type UserStatus,
} from '../../domain/model/index.js';

const enumObject = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };

export const OrganizationRoleEnum = enumObject(ORGANIZATION_ROLES);
export const UserStatusEnum = enumObject(USER_STATUSES);
export const MembershipSourceEnum = enumObject(MEMBERSHIP_SOURCES);
export const MembershipEventTypeEnum = enumObject(MEMBERSHIP_EVENT_TYPES);

registerEnumType(OrganizationRoleEnum, {
  name: 'OrganizationRole',
  description: 'Roles in an organization, highest first.',
  valuesConfig: {
    ORG_ADMIN: { description: "Manages the organization's identity; granted by GraphQL and the CLI only." },
    ADMIN: { description: 'Account editor (SAML ADMIN); not an organization admin.' },
    MEMBER: { description: 'Default role of automatic user access.' },
    VIEWER: { description: 'Read-only.' },
    NO_ACCESS: { description: 'Listed in the organization but cannot enter it.' },
  },
});
registerEnumType(UserStatusEnum, { name: 'UserStatus', description: 'Lifecycle status of one membership.' });
registerEnumType(MembershipSourceEnum, {
  name: 'MembershipSource',
  description: 'Where a membership came from: MANUAL (GraphQL/CLI), SAML, JIT (automatic user access) or SCIM.',
});
registerEnumType(MembershipEventTypeEnum, { name: 'MembershipEventType' });

@ObjectType('PageInfo')
export class PageInfoType {
  @Field() hasNextPage!: boolean;
  @Field() hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType('User', { description: 'One identity, possibly in many organizations.' })
export class UserType {
  @Field(() => ID) id!: string;
  @Field({ description: 'Unique, lower-cased.' }) email!: string;
  @Field(() => String, { nullable: true }) displayName!: string | null;
  @Field() createdAt!: Date;
}

@ObjectType('AutomaticUserAccess', { description: 'Automatic user access (JIT) for SSO users of trusted connections.' })
export class AutomaticUserAccessType {
  @Field() enabled!: boolean;
  @Field(() => OrganizationRoleEnum) defaultRole!: OrganizationRole;
  @Field(() => [String], { description: 'Email domains allowed to join; empty means any domain.' }) allowedDomains!: string[];
}

@ObjectType('Organization')
export class OrganizationType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() createdAt!: Date;
}

@ObjectType('Membership', { description: 'A user in an organization.' })
export class MembershipType {
  @Field(() => ID) id!: string;
  @Field(() => OrganizationRoleEnum) role!: OrganizationRole;
  @Field(() => UserStatusEnum) status!: UserStatus;
  @Field(() => MembershipSourceEnum) source!: MembershipSource;
  @Field(() => Date, { nullable: true }) lastVisitedAt!: Date | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@ObjectType('Team', { description: 'A user group of one organization (SCIM Group, Spot user group).' })
export class TeamType {
  @Field(() => ID, { description: 'Unique within the organization, e.g. ugr-1a3a.' }) id!: string;
  @Field() name!: string;
  @Field(() => [String], { description: 'Permission strings added to the permissions of its members.' }) policies!: string[];
  @Field(() => String, { nullable: true }) externalId!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@ObjectType('OrganizationEdge')
export class OrganizationEdgeType {
  @Field() cursor!: string;
  @Field(() => OrganizationType) node!: unknown;
  @Field(() => MembershipType, { description: "The viewer's membership in this organization." }) membership!: unknown;
}

@ObjectType('OrganizationConnection')
export class OrganizationConnectionType {
  @Field(() => [OrganizationEdgeType]) edges!: OrganizationEdgeType[];
  @Field(() => PageInfoType) pageInfo!: PageInfoType;
  @Field(() => Int) totalCount!: number;
}

@ObjectType('MembershipEdge')
export class MembershipEdgeType {
  @Field() cursor!: string;
  @Field(() => MembershipType) node!: unknown;
}

@ObjectType('MembershipConnection')
export class MembershipConnectionType {
  @Field(() => [MembershipEdgeType]) edges!: MembershipEdgeType[];
  @Field(() => PageInfoType) pageInfo!: PageInfoType;
  @Field(() => Int) totalCount!: number;
}

@ObjectType('AccessToken', { description: 'An organization-scoped ES256 JWT; verify it with /.well-known/jwks.json.' })
export class AccessTokenType {
  @Field() token!: string;
  @Field() expiresAt!: Date;
  @Field(() => ID) organizationId!: string;
}

@ObjectType('Viewer', { description: 'The signed-in user and where they are.' })
export class ViewerType {
  // Every field is resolved from the request's principal (viewer-resolver.ts).
  readonly viewer = true;
}

@ObjectType('SwitchOrganizationPayload')
export class SwitchOrganizationPayloadType {
  @Field(() => ViewerType) viewer!: ViewerType;
  @Field(() => OrganizationType) organization!: unknown;
  @Field(() => MembershipType) membership!: unknown;
  @Field(() => AccessTokenType) accessToken!: AccessTokenType;
}

@ObjectType('ApiToken')
export class ApiTokenType {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) name!: string | null;
  @Field() createdAt!: Date;
}

@ObjectType('CreateApiTokenPayload')
export class CreateApiTokenPayloadType {
  @Field({ description: 'The bearer secret. Shown once; store it now.' }) token!: string;
  @Field(() => ApiTokenType) apiToken!: ApiTokenType;
}

@ObjectType('MembershipEvent', { description: 'One change to one membership, from the append-only log.' })
export class MembershipEventObjectType {
  @Field(() => ID, { description: 'Increasing; pass the last one you saw as `after` to resume.' }) id!: string;
  @Field(() => MembershipEventTypeEnum) type!: MembershipEventType;
  @Field(() => ID) organizationId!: string;
  @Field(() => ID) userId!: string;
  @Field(() => ID) membershipId!: string;
  @Field({ description: 'Who made the change: user:<id>, saml:<connectionId>, jit:<connectionId>, scim:<tokenId>, cli or system.' })
  actor!: string;
  @Field(() => OrganizationRoleEnum, { nullable: true }) role!: OrganizationRole | null;
  @Field(() => UserStatusEnum, { nullable: true }) status!: UserStatus | null;
  @Field(() => OrganizationRoleEnum, { nullable: true }) previousRole!: OrganizationRole | null;
  @Field(() => UserStatusEnum, { nullable: true }) previousStatus!: UserStatus | null;
  @Field(() => [ID], { nullable: true, description: 'Team ids after the change (TEAMS_CHANGED, JOINED).' }) teamIds!: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Team ids before the change (TEAMS_CHANGED).' }) previousTeamIds!: string[] | null;
  @Field() occurredAt!: Date;
}

// ---- inputs ----

@InputType('AutomaticUserAccessInput')
export class AutomaticUserAccessInput {
  @Field() enabled!: boolean;
  @Field(() => OrganizationRoleEnum, { defaultValue: 'MEMBER', description: 'Any role but ORG_ADMIN.' }) defaultRole!: OrganizationRole;
  @Field(() => [String], { defaultValue: [], description: 'Email domains allowed to join; empty means any domain.' })
  allowedDomains!: string[];
}

@InputType('CreateOrganizationInput')
export class CreateOrganizationInput {
  @Field(() => ID, { nullable: true, description: '^[A-Za-z0-9_-]{1,64}$; generated when omitted.' }) id?: string | null;
  @Field() name!: string;
}

@InputType('CreateTeamInput')
export class CreateTeamInput {
  @Field(() => ID, { nullable: true, description: '^[A-Za-z0-9._-]{1,64}$; generated (ugr-xxxxxxxx) when omitted.' }) id?: string | null;
  @Field() name!: string;
  @Field(() => [String], { defaultValue: [] }) policies!: string[];
}

@InputType('UpdateTeamInput')
export class UpdateTeamInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => [String], { nullable: true, description: 'Replaces the policies.' }) policies?: string[] | null;
}
