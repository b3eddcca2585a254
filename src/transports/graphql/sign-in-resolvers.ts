/** Invitations, required SSO and verified domains over GraphQL (SPEC §7). ORG_ADMIN for every change. */
import { Arg, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Resolver, Root } from 'type-graphql';
import type { DomainView } from '../../domain/domains/domain-service.js';
import type { OrganizationView } from '../../domain/model/index.js';
import { membershipView, organizationView } from '../../domain/read/views.js';
import { type GraphQLContext, requireViewer } from './context.js';
import { MembershipType, OrganizationType } from './types.js';

@ObjectType('OrganizationDomain', { description: 'A DNS domain the organization claims; verified once its TXT record was found.' })
export class OrganizationDomainType {
  @Field({ description: 'Lower-case ASCII (punycode for IDN).' }) domain!: string;
  @Field() verified!: boolean;
  @Field(() => Date, { nullable: true }) verifiedAt!: Date | null;
  @Field({ description: 'Publish a TXT record with this name…' }) txtRecordName!: string;
  @Field({ description: '…and this value, then call verifyDomain.' }) txtRecordValue!: string;
  @Field() createdAt!: Date;
}

@Resolver(() => OrganizationType)
export class SignInSettingsResolver {
  @FieldResolver(() => Boolean, { description: 'Members must sign in through a trusted SSO connection: EMAIL sign-ins are not accepted here.' })
  async requireSso(@Root() org: OrganizationView, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const { services, principal } = requireViewer(ctx);
    return (await services.organizations.settings(principal, org.id)).requireSso;
  }

  @FieldResolver(() => [OrganizationDomainType], { description: 'Domains claimed by the organization, verified or not. Needs ORG_ADMIN.' })
  domains(@Root() org: OrganizationView, @Ctx() ctx: GraphQLContext): Promise<DomainView[]> {
    const { services, principal } = requireViewer(ctx);
    return services.domains.list(principal, org.id);
  }

  @Mutation(() => OrganizationType, {
    description: 'Requires (or stops requiring) SSO: EMAIL sign-ins lose the organization at once. Needs ORG_ADMIN, a trusted connection, and a session signed in through one.',
  })
  async setRequireSso(@Arg('organizationId', () => ID) organizationId: string, @Arg('required') required: boolean, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return organizationView(await services.organizations.setRequireSso(principal, organizationId, required));
  }

  @Mutation(() => OrganizationDomainType, { description: 'Claims a domain and returns the DNS TXT record that proves it (same record when asked again). Needs ORG_ADMIN.' })
  addDomain(@Arg('organizationId', () => ID) organizationId: string, @Arg('domain') domain: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return services.domains.add(principal, organizationId, domain);
  }

  @Mutation(() => OrganizationDomainType, { description: 'Looks the TXT record up and marks the domain verified; one organization at most verifies a domain. Needs ORG_ADMIN.' })
  verifyDomain(@Arg('organizationId', () => ID) organizationId: string, @Arg('domain') domain: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return services.domains.verify(principal, organizationId, domain);
  }

  @Mutation(() => Boolean, { description: 'Gives a domain up. Needs ORG_ADMIN.' })
  removeDomain(@Arg('organizationId', () => ID) organizationId: string, @Arg('domain') domain: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return services.domains.remove(principal, organizationId, domain);
  }
}

@Resolver(() => MembershipType)
export class InvitationResolver {
  @Mutation(() => MembershipType, { description: 'Sends an INVITED member a new invitation link; earlier links stop working. Needs ORG_ADMIN.' })
  async resendInvitation(@Arg('organizationId', () => ID) organizationId: string, @Arg('userId', () => ID) userId: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return membershipView(await services.memberships.resendInvitation(principal, organizationId, userId));
  }

  @Mutation(() => Boolean, { description: "Withdraws an INVITED member's invitation: its links stop working and the membership is removed. Needs ORG_ADMIN." })
  revokeInvitation(@Arg('organizationId', () => ID) organizationId: string, @Arg('userId', () => ID) userId: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return services.memberships.revokeInvitation(principal, organizationId, userId);
  }
}

export const SIGN_IN_RESOLVERS = [SignInSettingsResolver, InvitationResolver] as const;
