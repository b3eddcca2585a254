/** Per-request GraphQL context: who is asking, and the request's read scope. */
import type { Principal } from '../../domain/access.js';
import type { DomainService } from '../../domain/domains/domain-service.js';
import type { AuditLog } from '../../domain/events/audit-log.js';
import type { EventStream, EventStreamOptions } from '../../domain/events/event-stream.js';
import type { IdentityService } from '../../domain/identity/identity-service.js';
import type { MembershipService } from '../../domain/membership/membership-service.js';
import { DomainError } from '../../domain/model/index.js';
import type { OrganizationService } from '../../domain/organization/organization-service.js';
import type { ReadScope } from '../../domain/read/read-scope.js';
import type { SamlConnectionService } from '../../domain/saml-connections/connection-service.js';
import type { ScimService } from '../../domain/scim/scim-service.js';
import type { TeamService } from '../../domain/team/team-service.js';
import type { TokenService } from '../../domain/tokens/token-service.js';
import type { WebhookService } from '../../domain/webhooks/webhook-service.js';

/** What the resolvers ask of the gateway: the domain services, the read side and the event stream. */
export interface ResolverServices {
  readonly config: { readonly publicUrl: string };
  readonly metrics: { readonly activeSubscriptions: { inc(): void; dec(): void } };
  readonly identity: Pick<IdentityService, 'createApiToken' | 'signOut'>;
  readonly organizations: Pick<OrganizationService, 'createOrganization' | 'setAutomaticUserAccess' | 'setRequireSso' | 'settings'>;
  readonly memberships: Pick<
    MembershipService,
    'switchOrganization' | 'stageUser' | 'inviteUser' | 'setMembershipStatus' | 'setMembershipRole' | 'removeMember' | 'resendInvitation' | 'revokeInvitation'
  >;
  readonly teams: Pick<TeamService, 'createTeam' | 'updateTeam' | 'deleteTeam' | 'addTeamMembers' | 'removeTeamMembers'>;
  readonly tokens: Pick<TokenService, 'issueForCurrentOrganization'>;
  readonly domains: Pick<DomainService, 'list' | 'add' | 'verify' | 'remove'>;
  readonly samlConnections: Pick<SamlConnectionService, 'create' | 'update' | 'trust' | 'untrust' | 'listForOrganization' | 'trustedConnectionIds' | 'recentFailures'>;
  readonly scim: Pick<ScimService, 'tokens'>;
  readonly auditLog: Pick<AuditLog, 'events'>;
  readonly webhooks: Pick<WebhookService, 'list' | 'deliveries' | 'create' | 'update' | 'rotateSecret' | 'delete' | 'redeliver'>;
  readScope(principal: Principal): ReadScope;
  eventStream(options: EventStreamOptions): Promise<EventStream>;
}

export interface GraphQLContext {
  services: ResolverServices;
  principal: Principal | null;
  /** Present when authenticated. */
  scope: ReadScope | null;
  /** Set when the principal came from the session cookie (CSRF checks apply). */
  viaCookie: boolean;
  /** Items produced so far by lists without `first` (countListItems). */
  listItems: number;
}

export interface AuthedContext extends GraphQLContext {
  principal: Principal;
  scope: ReadScope;
}

export const requireViewer = (ctx: GraphQLContext): AuthedContext => {
  if (!ctx.principal)
    throw new DomainError('UNAUTHENTICATED', 'Sign in first: send "Authorization: Bearer <session or API token>" or the orgway_session cookie.');
  return ctx as AuthedContext;
};

/**
 * The read scope (an ORM session and its loaders) is made on first use: most
 * subscription contexts never read, and each idle subscriber should cost little memory.
 * A class rather than an object literal with get/set: V8 keeps literals with accessors
 * in dictionary mode, several hundred bytes each, and every subscriber holds two contexts.
 */
class LazyContext implements GraphQLContext {
  // A plain field, not #private: Apollo clones the context per request with
  // Object.assign(Object.create(prototype), context), which copies own fields only.
  private lazyScope: ReadScope | null | undefined = undefined;
  listItems = 0;

  constructor(
    readonly services: ResolverServices,
    readonly principal: Principal | null,
    readonly viaCookie: boolean,
  ) {}

  get scope(): ReadScope | null {
    if (this.lazyScope === undefined) this.lazyScope = this.principal ? this.services.readScope(this.principal) : null;
    return this.lazyScope;
  }

  set scope(value: ReadScope | null) {
    this.lazyScope = value;
  }
}

export const createContext = (services: ResolverServices, principal: Principal | null, viaCookie = false): GraphQLContext =>
  new LazyContext(services, principal, viaCookie);
