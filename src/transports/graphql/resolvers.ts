/**
 * Resolvers: parse → one domain call → map. Reads go through the request's
 * ReadScope (batched and access-checked); writes through the domain services.
 */
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, Extensions, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { enterOrganization } from '../../domain/access.js';
import type { MembershipEventRecord } from '../../domain/events/event-log.js';
import type { MembershipView, OrganizationRole, OrganizationView, TeamView, UserStatus, UserView } from '../../domain/model/index.js';
import { membershipView, organizationView, teamView } from '../../domain/read/views.js';
import { type GraphQLContext, requireViewer } from './context.js';
import { SAML_RESOLVERS } from './saml-resolvers.js';
import { SCIM_RESOLVERS } from './scim-resolvers.js';
import { membersArguments, viewerPageNeeds } from './selection.js';
import { VIEWER_DEPENDENT } from './subscriptions/viewer-dependent.js';
import { WEBHOOK_RESOLVERS } from './webhook-resolvers.js';
import { SIGN_IN_RESOLVERS } from './sign-in-resolvers.js';
import {
  AccessTokenType,
  AutomaticUserAccessInput,
  AutomaticUserAccessType,
  CreateApiTokenPayloadType,
  CreateOrganizationInput,
  CreateTeamInput,
  MembershipConnectionType,
  MembershipEventObjectType,
  MembershipType,
  OrganizationConnectionType,
  OrganizationRoleEnum,
  OrganizationType,
  SwitchOrganizationPayloadType,
  TeamType,
  UpdateTeamInput,
  UserStatusEnum,
  UserType,
  ViewerType,
} from './types.js';

const connection = <T, E>(
  page: { items: { cursor: string; node: T }[]; totalCount: number; hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null },
  edge: (item: { cursor: string; node: T }) => E,
) => ({
  edges: page.items.map(edge),
  totalCount: page.totalCount,
  pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: page.startCursor, endCursor: page.endCursor },
});

const VIEWER = new ViewerType();

@Resolver(() => ViewerType)
export class ViewerResolver {
  @Query(() => ViewerType, { description: 'The signed-in user.' })
  viewer(@Ctx() ctx: GraphQLContext): ViewerType {
    requireViewer(ctx);
    return VIEWER;
  }

  @FieldResolver(() => UserType)
  user(@Ctx() ctx: GraphQLContext): Promise<UserView> {
    return requireViewer(ctx).scope.viewerUser();
  }

  @FieldResolver(() => OrganizationType, { nullable: true, description: 'The organization this session is in.' })
  currentOrganization(@Ctx() ctx: GraphQLContext): Promise<OrganizationView | null> {
    return requireViewer(ctx).scope.currentOrganization();
  }

  @FieldResolver(() => MembershipType, { nullable: true })
  currentMembership(@Ctx() ctx: GraphQLContext): Promise<MembershipView | null> {
    return requireViewer(ctx).scope.currentMembership();
  }

  @FieldResolver(() => OrganizationConnectionType, {
    description: 'Every membership of the viewer, also those that cannot be entered; ordered by organization name.',
  })
  async organizations(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 100.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Info() info: GraphQLResolveInfo,
  ) {
    const { scope } = requireViewer(ctx);
    // Teams and permissions of the whole page come with the page (one statement), so the
    // edges below resolve synchronously instead of through a promise per field. Timestamps
    // come only when the selection names one (a view reads them later if another field asks).
    const needs = viewerPageNeeds(info);
    const page = await scope.viewerOrganizations(first ?? 50, after ?? null, { withTeams: needs.teams, withTimestamps: needs.timestamps });
    return connection(page, (i) => ({ cursor: i.cursor, node: i.node.organization, membership: i.node.membership }));
  }

  @FieldResolver(() => AccessTokenType, {
    nullable: true,
    description: 'A token for the current organization; null when there is none or it cannot be entered.',
  })
  async accessToken(@Ctx() ctx: GraphQLContext) {
    const { scope, principal, services } = requireViewer(ctx);
    return services.tokens.issueForCurrentOrganization(principal, scope);
  }
}

@Resolver(() => UserType)
export class UserResolver {
  @FieldResolver(() => OrganizationType, { nullable: true, description: 'Only for the viewer; null for other users.' })
  lastVisitedOrganization(@Root() user: UserView, @Ctx() ctx: GraphQLContext): Promise<OrganizationView | null> | null {
    const { scope, principal } = requireViewer(ctx);
    if (user.id !== principal.userId || !user.lastVisitedOrganizationId) return null;
    return scope.organization(user.lastVisitedOrganizationId);
  }
}

@Resolver(() => OrganizationType)
export class OrganizationResolver {
  @Query(() => OrganizationType, { nullable: true, description: 'Null unless the viewer is a member.' })
  organization(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<OrganizationView | null> {
    const { scope } = requireViewer(ctx);
    const members = membersArguments(info);
    return members ? scope.organizationWithMembers(id, members) : scope.organization(id);
  }

  @FieldResolver(() => MembershipType, { nullable: true })
  viewerMembership(@Root() org: OrganizationView, @Ctx() ctx: GraphQLContext): Promise<MembershipView | null> {
    return requireViewer(ctx).scope.viewerMembership(org.id);
  }

  // Beyond id, name and viewerMembership every field needs a membership that can be entered (SPEC §4).
  @FieldResolver(() => Date)
  async createdAt(@Root() org: OrganizationView, @Ctx() ctx: GraphQLContext): Promise<Date> {
    await requireViewer(ctx).scope.requireEnter(org.id);
    return org.createdAt;
  }

  @FieldResolver(() => AutomaticUserAccessType)
  async automaticUserAccess(@Root() org: OrganizationView, @Ctx() ctx: GraphQLContext) {
    return (await requireViewer(ctx).scope.requireEnter(org.id)).automaticUserAccess;
  }

  @FieldResolver(() => MembershipConnectionType)
  async members(
    @Root() org: OrganizationView,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 100.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('status', () => UserStatusEnum, { nullable: true }) status: UserStatus | null,
  ) {
    const page = await requireViewer(ctx).scope.members(org.id, first ?? 50, after ?? null, status ?? null);
    return connection(page, (i) => i);
  }

  @FieldResolver(() => [TeamType])
  teams(@Root() org: OrganizationView, @Ctx() ctx: GraphQLContext): TeamView[] | Promise<TeamView[]> {
    const { scope } = requireViewer(ctx);
    return scope.peekTeams(org.id) ?? scope.teams(org.id);
  }

  @Mutation(() => OrganizationType, { description: 'Creates an organization; you become its ORG_ADMIN.' })
  async createOrganization(@Arg('input', () => CreateOrganizationInput) input: CreateOrganizationInput, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return organizationView(await services.organizations.createOrganization(principal, { id: input.id ?? null, name: input.name }));
  }

  @Mutation(() => OrganizationType)
  async setAutomaticUserAccess(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('input', () => AutomaticUserAccessInput) input: AutomaticUserAccessInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    const { services, principal } = requireViewer(ctx);
    return organizationView(await services.organizations.setAutomaticUserAccess(principal, organizationId, input));
  }
}

@Resolver(() => MembershipType)
export class MembershipResolver {
  @FieldResolver(() => UserType)
  user(@Root() m: MembershipView, @Ctx() ctx: GraphQLContext): UserView | Promise<UserView> {
    const { scope } = requireViewer(ctx);
    return scope.peekUser(m.userId) ?? scope.user(m.userId);
  }

  @FieldResolver(() => OrganizationType)
  async organization(@Root() m: MembershipView, @Ctx() ctx: GraphQLContext): Promise<OrganizationView> {
    const org = await requireViewer(ctx).scope.organization(m.organizationId);
    if (!org) throw new Error(`membership ${m.id} resolved without its organization`);
    return org;
  }

  @FieldResolver(() => [TeamType])
  teams(@Root() m: MembershipView, @Ctx() ctx: GraphQLContext): TeamView[] | Promise<TeamView[]> {
    const { scope } = requireViewer(ctx);
    return scope.peekMembershipTeams(m) ?? scope.membershipTeams(m);
  }

  @FieldResolver(() => [String], { description: "Role built-ins ∪ team policies; empty when the membership cannot be entered." })
  permissions(@Root() m: MembershipView, @Ctx() ctx: GraphQLContext): string[] | Promise<string[]> {
    const { scope } = requireViewer(ctx);
    return scope.peekPermissions(m) ?? scope.permissions(m);
  }

  @Mutation(() => SwitchOrganizationPayloadType, {
    description: 'Enters an organization: STAGED/INVITED become ACTIVE, it becomes the current and last visited one, and an access token is issued.',
  })
  async switchOrganization(@Arg('organizationId', () => ID) organizationId: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    const { membership, organization, permissions, accessToken } = await services.memberships.switchOrganization(principal, organizationId);
    // Later fields of this request see the new current organization, and what the use case read.
    enterOrganization(principal, organizationId);
    const scope = services.readScope(principal);
    scope.prime(membership, organization, permissions);
    ctx.scope = scope;
    return { viewer: VIEWER, organization, membership, accessToken };
  }

  @Mutation(() => MembershipType, { description: 'Adds a user (created by email if new) as STAGED. Needs ORG_ADMIN.' })
  async stageUser(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('email') email: string,
    @Arg('role', () => OrganizationRoleEnum, { nullable: true, defaultValue: 'MEMBER' }) role: OrganizationRole | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const { services, principal } = requireViewer(ctx);
    return membershipView(await services.memberships.stageUser(principal, organizationId, email, role ?? 'MEMBER'));
  }

  @Mutation(() => MembershipType, { description: 'Invites a user (new or STAGED) and sends the invitation email. Needs ORG_ADMIN.' })
  async inviteUser(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('email') email: string,
    @Arg('role', () => OrganizationRoleEnum, { nullable: true, defaultValue: 'MEMBER' }) role: OrganizationRole | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const { services, principal } = requireViewer(ctx);
    return membershipView(await services.memberships.inviteUser(principal, organizationId, email, role ?? 'MEMBER'));
  }

  @Mutation(() => MembershipType, { description: 'DISABLED from any status; STAGED from DISABLED. Needs ORG_ADMIN.' })
  async setMembershipStatus(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('status', () => UserStatusEnum) status: UserStatus,
    @Ctx() ctx: GraphQLContext,
  ) {
    const { services, principal } = requireViewer(ctx);
    return membershipView(await services.memberships.setMembershipStatus(principal, organizationId, userId, status));
  }

  @Mutation(() => MembershipType, { description: 'Needs ORG_ADMIN.' })
  async setMembershipRole(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => OrganizationRoleEnum) role: OrganizationRole,
    @Ctx() ctx: GraphQLContext,
  ) {
    const { services, principal } = requireViewer(ctx);
    return membershipView(await services.memberships.setMembershipRole(principal, organizationId, userId, role));
  }

  @Mutation(() => Boolean, { description: 'Removes the membership and its team memberships. Needs ORG_ADMIN.' })
  removeMember(@Arg('organizationId', () => ID) organizationId: string, @Arg('userId', () => ID) userId: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return services.memberships.removeMember(principal, organizationId, userId);
  }
}

@Resolver(() => TeamType)
export class TeamResolver {
  @Mutation(() => TeamType, { description: 'Needs ORG_ADMIN.' })
  async createTeam(@Arg('organizationId', () => ID) organizationId: string, @Arg('input', () => CreateTeamInput) input: CreateTeamInput, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return teamView(await services.teams.createTeam(principal, organizationId, input));
  }

  @Mutation(() => TeamType, { description: 'Needs ORG_ADMIN.' })
  async updateTeam(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('teamId', () => ID) teamId: string,
    @Arg('input', () => UpdateTeamInput) input: UpdateTeamInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    const { services, principal } = requireViewer(ctx);
    return teamView(await services.teams.updateTeam(principal, organizationId, teamId, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes the team; its members lose it. Needs ORG_ADMIN.' })
  deleteTeam(@Arg('organizationId', () => ID) organizationId: string, @Arg('teamId', () => ID) teamId: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return services.teams.deleteTeam(principal, organizationId, teamId);
  }

  @Mutation(() => TeamType, { description: 'Adds members of the organization to the team (source MANUAL). Needs ORG_ADMIN.' })
  async addTeamMembers(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('teamId', () => ID) teamId: string,
    @Arg('userIds', () => [ID]) userIds: string[],
    @Ctx() ctx: GraphQLContext,
  ) {
    const { services, principal } = requireViewer(ctx);
    return teamView(await services.teams.addTeamMembers(principal, organizationId, teamId, userIds));
  }

  @Mutation(() => TeamType, { description: 'Needs ORG_ADMIN.' })
  async removeTeamMembers(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('teamId', () => ID) teamId: string,
    @Arg('userIds', () => [ID]) userIds: string[],
    @Ctx() ctx: GraphQLContext,
  ) {
    const { services, principal } = requireViewer(ctx);
    return teamView(await services.teams.removeTeamMembers(principal, organizationId, teamId, userIds));
  }
}

@Resolver()
export class SessionResolver {
  @Mutation(() => CreateApiTokenPayloadType, { description: 'A long-lived token for scripts, for yourself. The secret is returned once.' })
  async createApiToken(@Arg('name') name: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    const t = await services.identity.createApiToken(principal, name);
    return { token: t.token, apiToken: { id: t.id, name: t.name, createdAt: t.createdAt } };
  }

  @Mutation(() => Boolean, { description: 'Revokes the session or API token used for this request.' })
  signOut(@Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return services.identity.signOut(principal);
  }
}

@Resolver(() => MembershipEventObjectType)
export class MembershipEventResolver {
  @Subscription(() => MembershipEventObjectType, {
    description:
      "Membership changes. Without organizationId: the viewer's own memberships; with it: that organization's (members who can enter it). " +
      '`after` replays from the log after that event id, then continues live.',
    subscribe: async ({ args, context }) => {
      const ctx = requireViewer(context as GraphQLContext);
      const organizationId = (args.organizationId as string | null | undefined) ?? undefined;
      // The domain checks access (NOT_FOUND / FORBIDDEN) and `after` (BAD_USER_INPUT) before the stream exists.
      const stream = await ctx.services.eventStream({ userId: ctx.principal.userId, scope: ctx.principal.scope, organizationId, after: args.after as string | null | undefined });
      return countActive(ctx.services.metrics.activeSubscriptions, stream);
    },
  })
  membershipChanged(
    @Root() event: MembershipEventRecord,
    @Arg('organizationId', () => ID, { nullable: true }) _organizationId: string | null,
    @Arg('after', () => ID, { nullable: true }) _after: string | null,
  ): MembershipEventRecord {
    return event;
  }

  @FieldResolver(() => MembershipType, {
    nullable: true,
    description: "For events about the viewer: the viewer's membership as it is now (null once it is gone). Null for other users' events.",
  })
  // Each subscriber gets its own answer: a document selecting it is executed per subscriber.
  @Extensions({ [VIEWER_DEPENDENT]: true })
  membership(@Root() e: MembershipEventRecord, @Ctx() ctx: GraphQLContext): Promise<MembershipView | null> | null {
    const { services, principal } = requireViewer(ctx);
    if (e.userId !== principal.userId) return null;
    // A fresh scope: a subscription's context lives as long as the subscription, its caches must not.
    return services.readScope(principal).viewerMembership(e.organizationId);
  }
}

/**
 * Counts an open subscription in the `orgway_active_subscriptions` gauge until its
 * stream ends (done, error, or `return()` from a client's complete / a closed socket).
 * A plain iterator, not an async generator: a generator's `return()` would wait
 * behind a pending `next()` of an idle stream (see event-stream.ts).
 */
export const countActive = <T>(
  gauge: { inc(): void; dec(): void },
  stream: AsyncIterator<T> & { return(): Promise<IteratorResult<T>> },
): AsyncIterableIterator<T> => {
  gauge.inc();
  let open = true;
  const end = () => {
    if (open) {
      open = false;
      gauge.dec();
    }
  };
  return {
    async next() {
      try {
        const r = await stream.next();
        if (r.done) end();
        return r;
      } catch (error) {
        end();
        throw error;
      }
    },
    async return() {
      end();
      return stream.return();
    },
    async throw(error?: unknown) {
      end();
      await stream.return();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
};

export const RESOLVERS = [
  ViewerResolver,
  UserResolver,
  OrganizationResolver,
  MembershipResolver,
  TeamResolver,
  SessionResolver,
  MembershipEventResolver,
  ...SCIM_RESOLVERS,
  ...SAML_RESOLVERS,
  ...WEBHOOK_RESOLVERS,
  ...SIGN_IN_RESOLVERS,
] as const;
