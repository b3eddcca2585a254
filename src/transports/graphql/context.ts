/** Per-request GraphQL context: who is asking, and the request's read scope. */
import type { Container } from '../../app/container.js';
import type { Principal } from '../../domain/access.js';
import { DomainError } from '../../domain/model/index.js';
import type { ReadScope } from '../../domain/read-scope.js';

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
 */
export const createContext = (container: Container, principal: Principal | null, viaCookie = false): GraphQLContext => {
  let scope: ReadScope | null | undefined;
  return {
    container,
    principal,
    viaCookie,
    get scope(): ReadScope | null {
      if (scope === undefined) scope = principal ? container.readScope(principal) : null;
      return scope;
    },
    set scope(value: ReadScope | null) {
      scope = value;
    },
  };
};
