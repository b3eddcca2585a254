/** SCIM tokens over GraphQL (SPEC §3): create (secret shown once), revoke, list. ORG_ADMIN only. */
import { Arg, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Resolver, Root } from 'type-graphql';
import type { OrganizationView } from '../../domain/model/index.js';
import type { ScimTokenView } from '../../domain/scim/scim-tokens.js';
import { type GraphQLContext, requireViewer } from './context.js';
import { OrganizationType } from './types.js';

@ObjectType('ScimToken', { description: "A bearer token for one organization's SCIM endpoint (/scim/v2). The secret is never shown again." })
export class ScimTokenType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() createdAt!: Date;
  @Field(() => ID, { nullable: true, description: 'The ORG_ADMIN who created it.' }) createdByUserId!: string | null;
  @Field(() => Date, { nullable: true, description: 'Set once revoked; a revoked token gets 401.' }) revokedAt!: Date | null;
}

@ObjectType('CreateScimTokenPayload')
export class CreateScimTokenPayloadType {
  @Field({ description: 'The bearer secret for Authorization: Bearer <token>. Shown once; store it now.' }) token!: string;
  @Field(() => ScimTokenType) scimToken!: ScimTokenView;
}

@Resolver(() => OrganizationType)
export class ScimTokenResolver {
  @FieldResolver(() => [ScimTokenType], { description: 'SCIM tokens of the organization, newest first, revoked ones included; never their secrets. Needs ORG_ADMIN.' })
  scimTokens(@Root() org: OrganizationView, @Ctx() ctx: GraphQLContext): Promise<ScimTokenView[]> {
    const { services, principal } = requireViewer(ctx);
    return services.scim.tokens.list(principal, org.id);
  }

  @Mutation(() => CreateScimTokenPayloadType, { description: "Creates a token for the organization's SCIM endpoint; the secret is returned once. Needs ORG_ADMIN." })
  createScimToken(@Arg('organizationId', () => ID) organizationId: string, @Arg('name') name: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return services.scim.tokens.create(principal, organizationId, name);
  }

  @Mutation(() => ScimTokenType, { description: 'Revokes a SCIM token at once (idempotent). Needs ORG_ADMIN.' })
  revokeScimToken(@Arg('organizationId', () => ID) organizationId: string, @Arg('tokenId', () => ID) tokenId: string, @Ctx() ctx: GraphQLContext) {
    const { services, principal } = requireViewer(ctx);
    return services.scim.tokens.revoke(principal, organizationId, tokenId);
  }
}

export const SCIM_RESOLVERS = [ScimTokenResolver] as const;
