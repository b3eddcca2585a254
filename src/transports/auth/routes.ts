/**
 * Sign-in without SSO (SPEC §7): parse → one domain call → map.
 *
 *   POST /auth/email/start     { email } (JSON or form) → 202 { sent: true }, or where SSO is required
 *                              200 { sso: { connectionId, loginUrl } } (a form post: 303 to loginUrl)
 *   GET  /auth/discover        ?email=… → 200 { sso: { connectionId, loginUrl } | null }, sends nothing
 *   POST /auth/email/verify    { email, code } → session (cookie), 303 to the app URL or 200 JSON
 *   GET  /auth/email/verify    ?token=… (the link in the email) → the same
 *   GET  /invitations/:token   the invitation link → session, 303 to the app URL; or 303 to the organization's SSO
 *
 * Errors are `{ "error": { "code", "message" } }` for JSON clients, else a short HTML page.
 * Rate limited per client address (all routes) and per email (codes sent): 429 with Retry-After.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EmailSignInResult, EmailSignInService } from '../../domain/email-sign-in/email-sign-in-service.js';
import type { SsoRoute } from '../../domain/email-sign-in/sso-route.js';
import type { InvitationService } from '../../domain/invitations/invitation-service.js';
import { samlEndpoints } from '../../domain/saml-connections/endpoints.js';
import { badInput, DomainError, type ErrorCode, isDomainError, normalizeEmail } from '../../domain/model/index.js';
import { allowedOrigins as allowedOriginsOf } from '../shared/authentication.js';
import { errorPage } from '../shared/error-page.js';
import { SESSION_COOKIE, setSessionCookie } from '../shared/session-cookie.js';

const BODY_LIMIT = 16 * 1024;

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  INVALID_LINK: 400,
  INVALID_CODE: 401,
  CODE_EXPIRED: 401,
  CODE_USED: 401,
  TOO_MANY_ATTEMPTS: 401,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NO_ACCESS: 403,
  NOT_FOUND: 404,
  INVITATION_USED: 410,
  INVITATION_REVOKED: 410,
  INVITATION_EXPIRED: 410,
};

const TITLES: Partial<Record<ErrorCode, string>> = {
  INVITATION_USED: 'Invitation already used',
  INVITATION_REVOKED: 'Invitation no longer valid',
  INVITATION_EXPIRED: 'Invitation expired',
  INVALID_LINK: 'Link not valid',
  CODE_EXPIRED: 'Sign-in link expired',
  CODE_USED: 'Sign-in link already used',
};

const isForm = (request: FastifyRequest): boolean => /^application\/x-www-form-urlencoded\b/i.test(String(request.headers['content-type'] ?? ''));
/** JSON for clients that ask for it or send it, and always for discovery (an API of the sign-in page). */
const wantsJson = (request: FastifyRequest): boolean =>
  request.routeOptions.url === '/auth/discover' ||
  /\bapplication\/json\b/i.test(String(request.headers.accept ?? '')) || /^application\/json\b/i.test(String(request.headers['content-type'] ?? ''));

const sendError = (request: FastifyRequest, reply: FastifyReply, error: DomainError, status = STATUS[error.code] ?? 400): FastifyReply => {
  reply.code(status).header('cache-control', 'no-store');
  if (wantsJson(request)) return reply.type('application/json; charset=utf-8').send({ error: { code: error.code, message: error.message } });
  return reply.type('text/html; charset=utf-8').send(errorPage(TITLES[error.code] ?? 'Sign-in refused', error.message, error.code));
};

/** One string field of a JSON or form body; anything else is BAD_USER_INPUT. */
const field = (body: unknown, name: string): string => {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  if (typeof v !== 'string' || !v.trim()) throw badInput(name, `give "${name}" as one string (JSON or form field).`);
  return v;
};

const queryParam = (query: unknown, name: string): string => {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'string' || !v) throw badInput(name, `give "${name}" once in the query string.`);
  return v;
};

/** What the sign-in routes ask of the gateway. */
export interface AuthRouteServices {
  readonly config: { readonly publicUrl: string; readonly appUrl: string };
  readonly rateLimits: {
    countSignInAddress(address: string): Promise<number | null>;
    countSignInEmail(email: string): Promise<number | null>;
  };
  readonly emailSignIn: Pick<EmailSignInService, 'start' | 'discover' | 'verifyCode' | 'verifyLink'>;
  readonly invitations: Pick<InvitationService, 'accept'>;
}

export const registerAuthRoutes = (app: FastifyInstance, services: AuthRouteServices) =>
  app.register(async (scope) => {
    const { publicUrl, appUrl } = services.config;
    const allowedOrigins = allowedOriginsOf(services);
    const limits = services.rateLimits;

    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => {
      const out = Object.create(null) as Record<string, string>;
      for (const [k, v] of new URLSearchParams(body as string)) if (!(k in out)) out[k] = v;
      done(null, out);
    });

    scope.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (isDomainError(error)) return sendError(request, reply, error);
      if ((error.statusCode ?? 500) < 500)
        return sendError(request, reply, new DomainError('BAD_USER_INPUT', 'Send a JSON object or a form (application/x-www-form-urlencoded) of at most 16 KiB.'), error.statusCode);
      request.log.error({ err: error }, 'sign-in route failed');
      return sendError(request, reply, new DomainError('BAD_USER_INPUT', 'The sign-in could not be completed because of an internal error; try again later.'), 500);
    });

    const tooMany = (request: FastifyRequest, reply: FastifyReply, seconds: number, what: string) => {
      reply.header('retry-after', String(seconds));
      return reply
        .code(429)
        .header('cache-control', 'no-store')
        .type('application/json; charset=utf-8')
        .send({ error: { code: 'RATE_LIMITED', message: `Too many ${what}; try again in ${seconds} s.` } });
    };

    scope.addHook('onRequest', async (request, reply) => {
      const wait = await limits.countSignInAddress(request.ip);
      if (wait !== null) return tooMany(request, reply, wait, 'sign-in requests from this address');
      // A cross-site form post must not sign a victim's browser into someone else's account.
      // An opaque origin ("null": sandboxed frames, data: URLs) or a browser's own cross-site mark counts as foreign too.
      const origin = request.headers.origin;
      const crossSite = origin ? !allowedOrigins.has(origin) : request.headers['sec-fetch-site'] === 'cross-site';
      if (request.method === 'POST' && crossSite)
        return sendError(request, reply, new DomainError('FORBIDDEN', `Requests from origin ${origin ?? 'another site'} are not accepted; sign in from ${publicUrl}.`));
      return undefined;
    });

    const loginUrl = (route: SsoRoute) => `${samlEndpoints(publicUrl, route.connectionId).loginUrl}?organizationId=${encodeURIComponent(route.organizationId)}`;
    const ssoBody = (route: SsoRoute | null) => ({ sso: route ? { connectionId: route.connectionId, loginUrl: loginUrl(route) } : null });

    const signedIn = (request: FastifyRequest, reply: FastifyReply, result: EmailSignInResult) => {
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      setSessionCookie(reply, result.sessionToken, result.sessionExpiresAt, publicUrl);
      if (wantsJson(request))
        return reply.code(200).send({ sessionToken: result.sessionToken, userId: result.userId, organizationId: result.organizationId, memberships: result.memberships });
      return reply.code(303).header('location', appUrl).send();
    };

    /** The email in its canonical form (one count for every spelling of it); malformed input counts as typed. */
    const emailKey = (email: string): string => {
      try {
        return normalizeEmail(email);
      } catch {
        return email.trim().toLowerCase();
      }
    };

    scope.post('/auth/email/start', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
      const email = field(request.body, 'email');
      // Counted per email before anything is done, the same for known and unknown emails.
      const wait = await limits.countSignInEmail(emailKey(email));
      if (wait !== null) return tooMany(request, reply, wait, 'sign-in emails to this address');
      const outcome = await services.emailSignIn.start(email);
      reply.header('cache-control', 'no-store');
      if (outcome.kind === 'SSO') {
        if (isForm(request) && !wantsJson(request)) return reply.code(303).header('location', loginUrl(outcome.route)).send();
        return reply.code(200).send(ssoBody(outcome.route));
      }
      return reply.code(202).send({ sent: true });
    });

    scope.get('/auth/discover', async (request, reply) => {
      const route = await services.emailSignIn.discover(queryParam(request.query, 'email'));
      return reply.header('cache-control', 'no-store').send(ssoBody(route));
    });

    scope.post('/auth/email/verify', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
      const result = await services.emailSignIn.verifyCode(field(request.body, 'email'), field(request.body, 'code'), request.cookies[SESSION_COOKIE] ?? null);
      return signedIn(request, reply, result);
    });

    scope.get('/auth/email/verify', async (request, reply) => {
      const result = await services.emailSignIn.verifyLink(queryParam(request.query, 'token'), request.cookies[SESSION_COOKIE] ?? null);
      return signedIn(request, reply, result);
    });

    scope.get<{ Params: { token: string } }>('/invitations/:token', async (request, reply) => {
      const outcome = await services.invitations.accept(request.params.token, request.cookies[SESSION_COOKIE] ?? null);
      if (outcome.kind === 'SIGNED_IN') return signedIn(request, reply, outcome.result);
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      if (wantsJson(request)) return reply.code(200).send(ssoBody(outcome.route));
      return reply.code(303).header('location', loginUrl(outcome.route)).send();
    });
  });
