/**
 * SAML connections over GraphQL (SPEC §2): create from IdP metadata,
 * update, trust / untrust, list per organization, and the recent refused sign-ins.
 * Ownership rules live in src/domain/saml-connections (ORG_ADMINs of the owner change a
 * connection; each organization's ORG_ADMINs trust or untrust it for themselves).
 */
import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Mutation, ObjectType, Resolver, Root } from 'type-graphql';
import type { OrganizationView } from '../../domain/model/index.js';
import type { CertificateView, SamlConnectionView, SamlSignInFailureView } from '../../domain/saml-connections/connection-service.js';
import { samlEndpoints } from '../../domain/saml-connections/endpoints.js';
import { type GraphQLContext, requireViewer } from './context.js';
import { OrganizationType } from './types.js';

@ObjectType('SamlCertificate', { description: 'An X.509 certificate (IdP signing, or our SP encryption certificate).' })
export class SamlCertificateType {
  @Field({ description: 'SHA-256 fingerprint, colon-separated hex.' }) fingerprintSha256!: string;
  @Field() subject!: string;
  @Field() validFrom!: Date;
  @Field() validTo!: Date;
  @Field({ description: 'PEM.' }) pem!: string;
}

@ObjectType('SamlSignInFailure', { description: 'A refused SAML sign-in: what the user saw, and the detail for admins.' })
export class SamlSignInFailureType {
  @Field(() => ID) id!: string;
  @Field({ description: 'INVALID_SAML, SAML_REJECTED, INVALID_ATTRIBUTE, UNKNOWN_ORGANIZATION, UNKNOWN_TEAM, NO_ACCESS, …' }) code!: string;
  @Field({ description: 'The message the user was shown.' }) message!: string;
  @Field(() => String, { nullable: true, description: 'Which verification step refused it, and why (never shown to the user).' }) detail!: string | null;
  @Field(() => String, { nullable: true, description: 'The email of a verified assertion; null when the response could not be verified.' }) email!: string | null;
  @Field() occurredAt!: Date;
}

@ObjectType('SamlConnection', { description: 'One IdP application that signs users into the organizations that trust it.' })
export class SamlConnectionType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => ID, { description: 'The organization whose ORG_ADMINs created it and may change it.' }) ownerOrganizationId!: string;
  @Field() idpEntityId!: string;
  @Field({ description: "The IdP's SingleSignOnService (HTTP-Redirect) for SP-initiated sign-in." }) ssoUrl!: string;
  @Field(() => [SamlCertificateType], { description: '1–2 certificates; a response must be signed by one of them.' }) signingCertificates!: CertificateView[];
  @Field({ description: 'OrgAndRole / OrgAndUserGroups values must start with this, then a dash.' }) attributePrefix!: string;
  @Field(() => ID, { nullable: true, description: 'Organization of RelayState-less sign-ins without OrgAndRole.' }) defaultOrganizationId!: string | null;
  @Field({ description: 'Accept responses that answer no request of ours.' }) allowIdpInitiated!: boolean;
  @Field({ description: 'Whether encrypted assertions can be decrypted (an SP key is set; it is never shown).' }) hasDecryptionKey!: boolean;
  @Field(() => SamlCertificateType, { nullable: true, description: 'Our encryption certificate, published in the SP metadata.' }) spCertificate!: CertificateView | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@InputType('SamlConnectionSettingsInput')
export class SamlConnectionSettingsInput {
  @Field(() => String, { nullable: true, description: "Defaults to the IdP entity id's host." }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'Default SPOTINST.' }) attributePrefix?: string | null;
  @Field(() => ID, { nullable: true, description: 'Must be the owner organization at creation.' }) defaultOrganizationId?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Default false.' }) allowIdpInitiated?: boolean | null;
  @Field(() => String, { nullable: true, description: 'PEM RSA private key for encrypted assertions (with spCertificate).' }) spDecryptionKey?: string | null;
  @Field(() => String, { nullable: true, description: 'PEM certificate of spDecryptionKey.' }) spCertificate?: string | null;
}

@InputType('UpdateSamlConnectionInput', { description: 'Absent fields stay as they are.' })
export class UpdateSamlConnectionInput {
  @Field(() => String, { nullable: true, description: 'New IdP metadata: entity id, SSO URL and signing certificates (e.g. for a certificate rotation).' })
  metadataXml?: string | null;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) attributePrefix?: string | null;
  @Field(() => ID, { nullable: true, description: 'An organization that trusts the connection.' }) defaultOrganizationId?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Removes the default organization.' }) clearDefaultOrganization?: boolean | null;
  @Field(() => Boolean, { nullable: true }) allowIdpInitiated?: boolean | null;
  @Field(() => String, { nullable: true }) spDecryptionKey?: string | null;
  @Field(() => String, { nullable: true }) spCertificate?: string | null;
  @Field(() => Boolean, { nullable: true }) removeDecryptionKey?: boolean | null;
}

@Resolver(() => SamlConnectionType)
export class SamlConnectionResolver {
  @FieldResolver(() => String, { description: 'Our Assertion Consumer Service URL (HTTP-POST): give it to the IdP.' })
  acsUrl(@Root() c: SamlConnectionView, @Ctx() ctx: GraphQLContext): string {
    return samlEndpoints(ctx.services.config.publicUrl, c.id).acsUrl;
  }

  @FieldResolver(() => String, { description: 'Our SP entity id (the Audience) and metadata URL.' })
  spEntityId(@Root() c: SamlConnectionView, @Ctx() ctx: GraphQLContext): string {
    return samlEndpoints(ctx.services.config.publicUrl, c.id).entityId;
  }

  @FieldResolver(() => String, { description: 'Starts SP-initiated sign-in; add ?organizationId=… to land in one organization.' })
  loginUrl(@Root() c: SamlConnectionView, @Ctx() ctx: GraphQLContext): string {
    return samlEndpoints(ctx.services.config.publicUrl, c.id).loginUrl;
  }

  @FieldResolver(() => [SamlSignInFailureType], { description: 'Recent refused sign-ins, newest first. Needs ORG_ADMIN in the owner organization.' })
  recentSignInFailures(
    @Root() c: SamlConnectionView,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: 'At most 100.' }) first: number | null,
  ): Promise<SamlSignInFailureView[]> {
    const { services, principal } = requireViewer(ctx);
    return services.samlConnections.recentFailures(principal, c.id, first ?? 20);
  }

  @Mutation(() => SamlConnectionType, { description: 'Creates a connection from IdP metadata XML, owned and trusted by the organization. Needs ORG_ADMIN.' })
  createSamlConnection(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('metadataXml') metadataXml: string,
    @Arg('settings', () => SamlConnectionSettingsInput, { nullable: true }) settings: SamlConnectionSettingsInput | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SamlConnectionView> {
    const { services, principal } = requireViewer(ctx);
    return services.samlConnections.create(principal, organizationId, { metadataXml, ...(settings ?? {}) });
  }

  @Mutation(() => SamlConnectionType, { description: 'Changes a connection. Needs ORG_ADMIN in its owner organization.' })
  updateSamlConnection(
    @Arg('connectionId', () => ID) connectionId: string,
    @Arg('input', () => UpdateSamlConnectionInput) input: UpdateSamlConnectionInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SamlConnectionView> {
    const { services, principal } = requireViewer(ctx);
    const { clearDefaultOrganization, defaultOrganizationId, ...rest } = input;
    return services.samlConnections.update(principal, connectionId, {
      ...rest,
      defaultOrganizationId: clearDefaultOrganization ? null : (defaultOrganizationId ?? undefined),
    });
  }

  @Mutation(() => SamlConnectionType, {
    description:
      'The organization accepts sign-ins from this connection (idempotent). Needs ORG_ADMIN there, and the connection\'s consent: ORG_ADMIN of its owner organization, a session signed in through it, or an operator.',
  })
  trustSamlConnection(@Arg('organizationId', () => ID) organizationId: string, @Arg('connectionId', () => ID) connectionId: string, @Ctx() ctx: GraphQLContext): Promise<SamlConnectionView> {
    const { services, principal } = requireViewer(ctx);
    return services.samlConnections.trust(principal, organizationId, connectionId);
  }

  @Mutation(() => Boolean, { description: 'The organization stops accepting sign-ins from this connection; memberships stay. False when it did not trust it. Needs ORG_ADMIN there.' })
  untrustSamlConnection(@Arg('organizationId', () => ID) organizationId: string, @Arg('connectionId', () => ID) connectionId: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const { services, principal } = requireViewer(ctx);
    return services.samlConnections.untrust(principal, organizationId, connectionId);
  }
}

@Resolver(() => OrganizationType)
export class OrganizationSamlResolver {
  @FieldResolver(() => [SamlConnectionType], { description: 'SAML connections the organization trusts or owns. Needs ORG_ADMIN.' })
  async samlConnections(
    @Root() org: OrganizationView,
    @Ctx() ctx: GraphQLContext,
    @Arg('owned', () => Boolean, { nullable: true, description: 'true: only those it owns (whose sign-in failures its ORG_ADMINs may read); false: only those it trusts but does not own.' })
    owned: boolean | null,
  ): Promise<SamlConnectionView[]> {
    const { services, principal } = requireViewer(ctx);
    const all = await services.samlConnections.listForOrganization(principal, org.id);
    return owned === null || owned === undefined ? all : all.filter((c) => (c.ownerOrganizationId === org.id) === owned);
  }

  @FieldResolver(() => [ID], { description: 'Ids of the SAML connections whose sign-ins the organization accepts (an owned connection may be untrusted). Needs ORG_ADMIN.' })
  trustedSamlConnectionIds(@Root() org: OrganizationView, @Ctx() ctx: GraphQLContext): Promise<string[]> {
    const { services, principal } = requireViewer(ctx);
    return services.samlConnections.trustedConnectionIds(principal, org.id);
  }
}

export const SAML_RESOLVERS = [SamlConnectionResolver, OrganizationSamlResolver] as const;
