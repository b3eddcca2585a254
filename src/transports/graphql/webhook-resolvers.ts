/** The audit log and webhook endpoints over GraphQL (SPEC §10). ORG_ADMIN only; the domain decides access. */
import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Mutation, ObjectType, registerEnumType, Resolver, Root } from 'type-graphql';
import type { MembershipEventRecord } from '../../domain/events/event-log.js';
import type { MembershipEventType, OrganizationView } from '../../domain/model/index.js';
import type { WebhookDeliveryStatus, WebhookDeliveryView, WebhookEndpointView } from '../../domain/webhooks/types.js';
import { DEFAULT_ROTATION_OVERLAP_SECONDS, type IssuedWebhookSecret } from '../../domain/webhooks/webhook-service.js';
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
    const { services, principal } = requireViewer(ctx);
    const page = await services.auditLog.events(principal, org.id, { first: first ?? 50, after: after ?? null, types, userId });
    return {
      edges: page.items,
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: page.startCursor, endCursor: page.endCursor },
    };
  }
}

const WebhookDeliveryStatusEnum = { PENDING: 'PENDING', SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED' } as const satisfies Record<WebhookDeliveryStatus, WebhookDeliveryStatus>;
registerEnumType(WebhookDeliveryStatusEnum, {
  name: 'WebhookDeliveryStatus',
  valuesConfig: {
    PENDING: { description: 'A requested redelivery not attempted yet.' },
    SUCCEEDED: { description: 'The receiver answered 2xx.' },
    FAILED: { description: 'Another status, a network error, a refused address or no answer in time.' },
  },
});

@ObjectType('WebhookEndpoint', { description: "A receiver of the organization's membership events, signed by the Standard Webhooks scheme." })
export class WebhookEndpointType {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field() url!: string;
  @Field(() => [MembershipEventTypeEnum], { description: 'The event types it receives.' }) eventTypes!: MembershipEventType[];
  @Field({ description: 'False once disabled (after 24 hours of failures, or by an admin); nothing is sent until it is enabled again.' }) enabled!: boolean;
  @Field(() => String, { nullable: true, description: 'Why it was disabled.' }) disabledReason!: string | null;
  @Field(() => Date, { nullable: true }) disabledAt!: Date | null;
  @Field(() => ID, { description: 'The last event id it has been given (delivered, or not of a selected type); "0" before any.' }) lastEventId!: string;
  @Field(() => Date, { nullable: true, description: 'Since when the next event has been failing.' }) failingSince!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When the next attempt is due (enabled endpoints).' }) nextAttemptAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'Until then the secret before the last rotation also signs.' }) previousSecretExpiresAt!: Date | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@ObjectType('WebhookDelivery', { description: 'One attempt to deliver one event to one endpoint.' })
export class WebhookDeliveryType {
  @Field(() => ID) id!: string;
  @Field(() => ID, { description: 'The event id (the webhook-id header).' }) eventId!: string;
  @Field(() => Int, { description: '1 for the first attempt at this event, counting retries and redeliveries.' }) attempt!: number;
  @Field({ description: 'Requested by redeliverWebhookEvent.' }) redelivery!: boolean;
  @Field(() => WebhookDeliveryStatusEnum) status!: WebhookDeliveryStatus;
  @Field(() => Int, { nullable: true, description: "The receiver's HTTP status, when it answered." }) responseStatus!: number | null;
  @Field(() => Int, { nullable: true }) durationMs!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Date, { nullable: true }) attemptedAt!: Date | null;
}

@ObjectType('WebhookDeliveryEdge')
export class WebhookDeliveryEdgeType {
  @Field() cursor!: string;
  @Field(() => WebhookDeliveryType) node!: WebhookDeliveryView;
}

@ObjectType('WebhookDeliveryConnection', { description: 'Attempts, newest first.' })
export class WebhookDeliveryConnectionType {
  @Field(() => [WebhookDeliveryEdgeType]) edges!: WebhookDeliveryEdgeType[];
  @Field(() => PageInfoType) pageInfo!: PageInfoType;
}

@ObjectType('WebhookSecretPayload')
export class WebhookSecretPayloadType {
  @Field({ description: 'The signing secret (whsec_…), for any Standard Webhooks library. Shown once; store it now.' }) secret!: string;
  @Field(() => WebhookEndpointType) endpoint!: WebhookEndpointView;
}

@InputType('CreateWebhookEndpointInput')
export class CreateWebhookEndpointInput {
  @Field({ description: 'https, resolving to a public address (unless ORGWAY_WEBHOOK_ALLOW_PRIVATE=true).' }) url!: string;
  @Field(() => [MembershipEventTypeEnum], { nullable: true, description: 'Omitted: every type.' }) eventTypes?: MembershipEventType[] | null;
}

@InputType('UpdateWebhookEndpointInput', { description: 'Absent fields stay as they are.' })
export class UpdateWebhookEndpointInput {
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => [MembershipEventTypeEnum], { nullable: true }) eventTypes?: MembershipEventType[] | null;
  @Field(() => Boolean, { nullable: true, description: 'true re-enables a disabled endpoint (it resumes at the event it stopped at); false disables it.' })
  enabled?: boolean | null;
}

@Resolver(() => OrganizationType)
export class OrganizationWebhooksResolver {
  @FieldResolver(() => [WebhookEndpointType], { description: 'Webhook endpoints, oldest first; never their secrets. Needs ORG_ADMIN.' })
  webhookEndpoints(@Root() org: OrganizationView, @Ctx() ctx: GraphQLContext): Promise<WebhookEndpointView[]> {
    const { services, principal } = requireViewer(ctx);
    return services.webhooks.list(principal, org.id);
  }
}

@Resolver(() => WebhookEndpointType)
export class WebhookEndpointResolver {
  @FieldResolver(() => WebhookDeliveryConnectionType, { description: 'Delivery attempts, newest first. Needs ORG_ADMIN.' })
  async deliveries(
    @Root() endpoint: WebhookEndpointView,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 100.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<WebhookDeliveryConnectionType> {
    const { services, principal } = requireViewer(ctx);
    const page = await services.webhooks.deliveries(principal, endpoint.organizationId, endpoint.id, first ?? 50, after ?? null);
    return {
      edges: page.items,
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: page.startCursor, endCursor: page.endCursor },
    };
  }

  @Mutation(() => WebhookSecretPayloadType, { description: "Adds a receiver of the organization's events from now on; the signing secret is returned once. Needs ORG_ADMIN." })
  createWebhookEndpoint(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('input', () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<IssuedWebhookSecret> {
    const { services, principal } = requireViewer(ctx);
    return services.webhooks.create(principal, organizationId, { url: input.url, eventTypes: input.eventTypes ?? null });
  }

  @Mutation(() => WebhookEndpointType, { description: 'Changes the URL or event types, or disables / re-enables the endpoint. Needs ORG_ADMIN.' })
  updateWebhookEndpoint(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('input', () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookEndpointView> {
    const { services, principal } = requireViewer(ctx);
    return services.webhooks.update(principal, organizationId, endpointId, input);
  }

  @Mutation(() => WebhookSecretPayloadType, {
    description: 'A new signing secret (returned once); during the overlap both the new and the old secret sign every message. Needs ORG_ADMIN.',
  })
  rotateWebhookSecret(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('overlapSeconds', () => Int, { nullable: true, defaultValue: DEFAULT_ROTATION_OVERLAP_SECONDS, description: '0 to 604800 (7 days).' })
    overlapSeconds: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<IssuedWebhookSecret> {
    const { services, principal } = requireViewer(ctx);
    return services.webhooks.rotateSecret(principal, organizationId, endpointId, overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS);
  }

  @Mutation(() => Boolean, { description: 'Deletes the endpoint and its delivery attempts. Needs ORG_ADMIN.' })
  deleteWebhookEndpoint(@Arg('organizationId', () => ID) organizationId: string, @Arg('endpointId', () => ID) endpointId: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const { services, principal } = requireViewer(ctx);
    return services.webhooks.delete(principal, organizationId, endpointId);
  }

  @Mutation(() => WebhookDeliveryType, { description: 'Sends one event of the organization to the endpoint once more, soon (one attempt). Needs ORG_ADMIN.' })
  redeliverWebhookEvent(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('eventId', () => ID) eventId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookDeliveryView> {
    const { services, principal } = requireViewer(ctx);
    return services.webhooks.redeliver(principal, organizationId, endpointId, eventId);
  }
}

export const WEBHOOK_RESOLVERS = [OrganizationEventsResolver, OrganizationWebhooksResolver, WebhookEndpointResolver] as const;
