/** Per-request GraphQL context: who is asking, and the request's read scope. */
import type { Container } from '../../app/container.js';
import type { Principal } from '../../domain/access.js';
import { DomainError } from '../../domain/model/index.js';
import type { ReadScope } from '../../domain/read/read-scope.js';

export interface GraphQLContext {
  container: Container;
  principal: Principal | null;
  /** Present when authenticated. */
  scope: ReadScope | null;
  /** Set when the principal came from the session cookie (CSRF checks apply). */
  viaCookie: boolean;
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

  constructor(
    readonly container: Container,
    readonly principal: Principal | null,
    readonly viaCookie: boolean,
  ) {}

  get scope(): ReadScope | null {
    if (this.lazyScope === undefined) this.lazyScope = this.principal ? this.container.readScope(this.principal) : null;
    return this.lazyScope;
  }

  set scope(value: ReadScope | null) {
    this.lazyScope = value;
  }
}

export const createContext = (container: Container, principal: Principal | null, viaCookie = false): GraphQLContext =>
  new LazyContext(container, principal, viaCookie);
