/** The audit log and webhook endpoints over GraphQL (SPEC §10). ORG_ADMIN only; the domain decides access. */
import { Arg, Ctx, Field, FieldResolver, ID, Int, ObjectType, Resolver, Root } from 'type-graphql';
import type { MembershipEventRecord } from '../../domain/events/event-log.js';
import type { MembershipEventType } from '../../domain/model/index.js';
import type { OrganizationView } from '../../domain/read-scope.js';
import { type GraphQLContext, requireViewer } from './context.js';
import { MembershipEventObjectType, MembershipEventTypeEnum, OrganizationType, PageInfoType } from './types.js';

@ObjectType('MembershipEventEdge')
export class MembershipEventEdgeType {
  @Field({ description: 'The event id.' }) cursor!: string;
  @Field(() => MembershipEventObjectType) node!: MembershipEventRecord;
}

@ObjectType('MembershipEventConnection', { description: 'A page of the audit log, oldest first. No total: counting a long log would cost more than the page.' })
export class MembershipEventConnectionType {
  @Field(() => [MembershipEventEdgeType]) edges!: MembershipEventEdgeType[];
  @Field(() => PageInfoType) pageInfo!: PageInfoType;
}

@Resolver(() => OrganizationType)
export class OrganizationEventsResolver {
  @FieldResolver(() => MembershipEventConnectionType, {
    description: "The audit log: the organization's membership events, newest last, with the ids of membershipChanged. Needs ORG_ADMIN.",
  })
  async events(
    @Root() org: OrganizationView,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 100.' }) first: number | null,
    @Arg('after', () => ID, { nullable: true, description: 'An event id: the page starts after it.' }) after: string | null,
    @Arg('types', () => [MembershipEventTypeEnum], { nullable: true, description: 'Only these types.' }) types: MembershipEventType[] | null,
    @Arg('userId', () => ID, { nullable: true, description: 'Only events about this user.' }) userId: string | null,
  ): Promise<MembershipEventConnectionType> {
    const { container, principal } = requireViewer(ctx);
    const page = await container.auditLog.events(principal, org.id, { first: first ?? 50, after: after ?? null, types, userId });
    return {
      edges: page.items,
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: page.startCursor, endCursor: page.endCursor },
    };
  }
}

export const WEBHOOK_RESOLVERS = [OrganizationEventsResolver] as const;
