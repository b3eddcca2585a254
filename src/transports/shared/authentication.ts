/**
 * Who is calling: `Authorization: Bearer <session or API token>`, else the
 * `orgway_session` cookie. Cookie-authenticated browser requests must come from
 * an allowed origin (CSRF / cross-site WebSocket hijacking), on top of
 * SameSite=Lax and Apollo's CSRF prevention (which refuses "simple" requests).
 */
import type { Principal } from '../../domain/access.js';
import type { IdentityService } from '../../domain/identity/identity-service.js';
import { DomainError } from '../../domain/model/index.js';
import { SESSION_COOKIE } from './session-cookie.js';

/** What authenticating a request needs. */
export interface AuthenticationServices {
  readonly config: { readonly publicUrl: string; readonly appUrl: string };
  readonly identity: Pick<IdentityService, 'authenticate'>;
}

export interface Credentials {
  principal: Principal | null;
  viaCookie: boolean;
}

interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  cookies?: Record<string, string | undefined>;
}

const header = (req: RequestLike, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export const allowedOrigins = (services: Pick<AuthenticationServices, 'config'>): Set<string> =>
  new Set([new URL(services.config.publicUrl).origin, new URL(services.config.appUrl).origin]);

/**
 * Resolves the caller. A bearer token that is present but wrong is an error
 * (UNAUTHENTICATED), not an anonymous request: clients should learn their token is dead.
 */
export const authenticate = async (services: AuthenticationServices, req: RequestLike, bearerFromInit?: string | undefined): Promise<Credentials> => {
  const authorization = bearerFromInit ?? header(req, 'authorization');
  if (authorization) {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m)
      throw new DomainError(
        'UNAUTHENTICATED',
        bearerFromInit === undefined
          ? 'The Authorization header must be "Bearer <token>".'
          : 'The authorization connection parameter must be "Bearer <token>".',
      );
    return { principal: await services.identity.authenticate(m[1]!), viaCookie: false };
  }
  const cookie = req.cookies?.[SESSION_COOKIE];
  if (!cookie) return { principal: null, viaCookie: false };
  const origin = header(req, 'origin');
  if (origin !== undefined && !allowedOrigins(services).has(origin))
    throw new DomainError('FORBIDDEN', `Requests authenticated by cookie must come from ${[...allowedOrigins(services)].join(' or ')}; this one came from ${origin}.`);
  return { principal: await services.identity.authenticate(cookie), viaCookie: true };
};
