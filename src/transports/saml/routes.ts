/**
 * SAML routes (SPEC §2): parse → triage (triage.ts: verified at once, or in turn in the slow
 * lane) → verify (verification.ts) → one domain call → map.
 *
 *   POST /saml/:connectionId/acs       the IdP's response (HTTP-POST binding)
 *   GET  /saml/:connectionId/metadata  our SP metadata (entity id = this URL)
 *   GET  /saml/:connectionId/login     SP-initiated sign-in: redirect to the IdP
 *
 * Errors are mapped once (`sendError`): 400 INVALID_SAML / INVALID_ATTRIBUTE /
 * UNKNOWN_ORGANIZATION / UNKNOWN_TEAM, 401 SAML_REJECTED, 403 NO_ACCESS, as JSON
 * `{ "error": { "code", "message" } }` when the client accepts JSON, else a short HTML
 * page. Refused sign-ins are recorded for the connection's ORG_ADMINs with the internal
 * detail; the user sees only the message.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { MAX_BODY_BYTES } from '../shared/body-limits.js';
import { errorPage } from '../shared/error-page.js';
import { RATE_LIMITED, type RateLimited, rateLimitMessage, unauthenticatedRateLimit } from '../shared/rate-limit.js';
import { SESSION_COOKIE, setSessionCookie } from '../shared/session-cookie.js';
import type { IdentityService } from '../../domain/identity/identity-service.js';
import { DomainError, type ErrorCode, isDomainError, truncate } from '../../domain/model/index.js';
import type { Clock } from '../../domain/runtime.js';
import { samlEndpoints } from '../../domain/saml-connections/endpoints.js';
import { AUTHN_REQUEST_TTL_SECONDS, type SamlSignInService } from '../../domain/saml-sign-in/sign-in-service.js';
import type { VerifiedSamlAssertion } from '../../domain/saml-sign-in/types.js';
import { RETRY_AFTER_SECONDS, unavailableOr } from '../../domain/unavailable.js';
import { addressKey } from '../shared/client-address.js';
import { type Measure, SlowLane } from '../shared/slow-lane.js';
import { authnRequestUrl, installSamlifyValidator, spMetadataXml } from './samlify-entities.js';
import { SchemaValidator } from './schema-validator.js';
import { Triage } from './triage.js';
import { readForm, verifySamlResponse } from './verification.js';

/**
 * The browser's session secret, handed from the SP-initiated start to that connection's ACS only:
 * the IdP's cross-site POST does not carry the Lax session cookie, and the ACS may add a sign-in
 * only to a session the posting browser proves it holds (never to one named by the request id).
 */
const SIGN_IN_COOKIE = 'orgway_sign_in';

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_SAML: 400,
  INVALID_ATTRIBUTE: 400,
  UNKNOWN_ORGANIZATION: 400,
  UNKNOWN_TEAM: 400,
  BAD_USER_INPUT: 400,
  SAML_REJECTED: 401,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NO_ACCESS: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAVAILABLE: 503,
};

/** What the SAML routes ask of the gateway. */
export interface SamlRouteServices extends RateLimited {
  readonly config: { readonly publicUrl: string; readonly appUrl: string; readonly samlUnverifiedQueueBytes: number; readonly samlFailuresPerMinute: number };
  readonly metrics: {
    readonly samlUnverifiedWaiting: { set(value: number): void };
    readonly samlResponses: { inc(labels: { triage: 'vouched' | 'unverified' | 'busy' }): void };
    readonly samlFailuresUnrecorded: { inc(): void };
  };
  readonly clock: Clock;
  readonly samlSignIn: Pick<SamlSignInService, 'connection' | 'startSignIn' | 'signInWithSaml' | 'recordFailure'>;
  readonly identity: Pick<IdentityService, 'authenticate'>;
}

export interface SamlRoutesOptions {
  /** The schema validator (tests and the benchmark pass their own); closed with the server. */
  validator?: SchemaValidator;
}

const wantsJson = (request: FastifyRequest): boolean => /\bapplication\/json\b/i.test(String(request.headers.accept ?? ''));

/** The one error mapping of the SAML transport. */
export const sendError = (request: FastifyRequest, reply: FastifyReply, error: DomainError, statusOverride?: number): FastifyReply => {
  const status = statusOverride ?? STATUS[error.code] ?? 400;
  reply.code(status).header('cache-control', 'no-store');
  if (status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  if (wantsJson(request)) return reply.type('application/json; charset=utf-8').send({ error: { code: error.code, message: error.message } });
  return reply.type('text/html; charset=utf-8').send(errorPage('Sign-in refused', error.message, error.code));
};

const busy = () =>
  new DomainError('UNAVAILABLE', 'The gateway is busy checking other SAML responses that no identity provider key vouched for; try again in a few seconds.', {
    step: 'triage',
  });
const gone = () => new DomainError('UNAVAILABLE', 'The client closed the connection before its SAML response was checked.', { step: 'triage' });

const internalError = () => new DomainError('INVALID_SAML', 'The sign-in could not be completed because of an internal error; try again later.');

/** Registers the SAML routes in their own encapsulated scope (form parser and error handler stay local). */
export const registerSamlRoutes = (app: FastifyInstance, services: SamlRouteServices, options: SamlRoutesOptions = {}) =>
  app.register(async (scope) => {
    const validator = options.validator ?? new SchemaValidator();
    installSamlifyValidator();
    scope.addHook('onClose', async () => {
      if (!options.validator) await validator.close();
    });
    const publicUrl = services.config.publicUrl;
    const secureCookie = !publicUrl.startsWith('http://');

    // Fastify parses no form bodies by default; this one is scoped to these routes. Only the two
    // fields of the HTTP-POST binding are kept: a request waiting in the slow lane holds no more.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => {
      const out = Object.create(null) as Record<string, string | string[]>;
      for (const [k, v] of new URLSearchParams(body as string)) {
        if (k !== 'SAMLResponse' && k !== 'RelayState') continue;
        const prev = out[k];
        if (prev === undefined) out[k] = v;
        else if (Array.isArray(prev)) prev.push(v);
        else out[k] = [prev, v];
      }
      done(null, out);
    });

    // A flood of refused sign-ins must not become a flood of writes: each connection's list gets
    // at most samlFailuresPerMinute records per minute from this instance for responses no key
    // vouched for (junk among them), and ten times that for vouched-for ones (only the IdP's key
    // makes those), so junk cannot hide them. The rest are counted, and logged once a minute.
    const failureBudgets = {
      vouched: new RateLimiterMemory({ keyPrefix: 'saml-failures-vouched', points: services.config.samlFailuresPerMinute * 10, duration: 60 }),
      unverified: new RateLimiterMemory({ keyPrefix: 'saml-failures', points: services.config.samlFailuresPerMinute, duration: 60 }),
    };
    const unrecorded = new Map<string, { count: number; loggedAt: number }>();
    const mayRecord = (request: FastifyRequest, connectionId: string, vouched: boolean): Promise<boolean> =>
      failureBudgets[vouched ? 'vouched' : 'unverified'].consume(connectionId).then(
        () => true,
        () => {
          services.metrics.samlFailuresUnrecorded.inc();
          const u = unrecorded.get(connectionId) ?? { count: 0, loggedAt: 0 };
          u.count += 1;
          if (Date.now() - u.loggedAt >= 60_000) {
            request.log.warn({ connectionId, unrecorded: u.count }, 'refused SAML sign-ins beyond ORGWAY_SAML_FAILURES_PER_MINUTE were not recorded');
            u.count = 0;
            u.loggedAt = Date.now();
          }
          if (unrecorded.size > 10_000) unrecorded.clear();
          unrecorded.set(connectionId, u);
          return false;
        },
      );

    /** Records a refused sign-in (not for unknown connections, nor over the per-minute bound) and answers it. */
    const refuse = async (
      request: FastifyRequest,
      reply: FastifyReply,
      connectionId: string,
      thrown: unknown,
      email: string | null,
      vouched = false,
    ): Promise<FastifyReply> => {
      const error = unavailableOr(thrown);
      const domainError = isDomainError(error) ? error : null;
      if (!domainError) request.log.error({ err: error, connectionId }, 'SAML sign-in failed unexpectedly');
      const shown = domainError ?? internalError();
      // Nothing is recorded while the database is away (it could not be).
      if (shown.code !== 'NOT_FOUND' && shown.code !== 'UNAVAILABLE' && (await mayRecord(request, connectionId, vouched)))
        await services.samlSignIn
          .recordFailure({
            connectionId,
            code: domainError ? shown.code : 'INTERNAL',
            message: shown.message,
            detail:
              [shown.details.step ? `step ${String(shown.details.step)}` : null, shown.details.detail ? String(shown.details.detail) : null, domainError ? null : truncate(String(error), 500)]
                .filter(Boolean)
                .join(': ') || null,
            email,
          })
          .catch((e: unknown) => request.log.error({ err: e }, 'recording a SAML sign-in failure failed'));
      return sendError(request, reply, shown, domainError ? undefined : 500);
    };

    scope.setErrorHandler(async (error: Error & { code?: string; statusCode?: number }, request, reply) => {
      let mapped: unknown = unavailableOr(error);
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
        mapped = new DomainError('INVALID_SAML', `The request body is larger than ${MAX_BODY_BYTES / 1024} KiB; a SAML response must be smaller.`, { step: 'readForm' });
      else if (!isDomainError(mapped) && (error.statusCode ?? 500) < 500)
        mapped = new DomainError('INVALID_SAML', 'POST the SAML response as an application/x-www-form-urlencoded form (SAMLResponse=…&RelayState=…).', {
          step: 'readForm',
          detail: error.code ?? error.message,
        });
      const connectionId = (request.params as { connectionId?: string } | undefined)?.connectionId;
      // Errors before the ACS handler ran (body limit, content type) are refused sign-ins too.
      if (request.method === 'POST' && connectionId) return refuse(request, reply, connectionId, mapped, null);
      if (isDomainError(mapped)) return sendError(request, reply, mapped);
      request.log.error({ err: error }, 'SAML route failed');
      return sendError(request, reply, internalError(), 500);
    });

    // SPEC §8: responses no connection key vouches for (junk, or an encrypted assertion) wait here.
    const triage = new Triage();
    const unverified = new SlowLane({
      maxWaitingBytes: services.config.samlUnverifiedQueueBytes,
      onWaiting: (n) => services.metrics.samlUnverifiedWaiting.set(n),
    });
    /** What a waiting request holds besides its fields (the request, the reply, the socket). */
    const REQUEST_OVERHEAD_BYTES = 16 * 1024;

    // SPEC §8: every ACS request counts against the client address (no credential yet), before its body is read;
    // so do the login route (each request stores an AuthnRequest) and the metadata route (a lookup by a public id).
    // Not recorded as a refused sign-in: a flood must cost no writes.
    const rateLimit = unauthenticatedRateLimit(services, (request, reply, seconds) => {
      const message = rateLimitMessage(seconds);
      reply.code(429).header('cache-control', 'no-store');
      if (wantsJson(request)) return reply.type('application/json; charset=utf-8').send({ error: { code: RATE_LIMITED, message } });
      return reply.type('text/html; charset=utf-8').send(errorPage('Sign-in refused', message, RATE_LIMITED));
    });

    scope.post<{ Params: { connectionId: string } }>('/saml/:connectionId/acs', { bodyLimit: MAX_BODY_BYTES, onRequest: rateLimit }, async (request, reply) => {
      const { connectionId } = request.params;
      let email: string | null = null;
      let vouched = false;
      try {
        // The time the response arrived: waiting in the slow lane does not age it.
        const now = services.clock.now();
        const connection = await services.samlSignIn.connection(connectionId);
        const endpoints = samlEndpoints(publicUrl, connection.id);
        const verify = (measure?: Measure) =>
          verifySamlResponse(request.body, { connection, acsUrl: endpoints.acsUrl, audience: endpoints.entityId, now }, validator, {
            ...(measure ? { measure } : {}),
            // From here the IdP's key vouches for the response: its refusal is recorded on the vouched-for budget.
            signedInfoVerified: () => (vouched = true),
          });
        const { samlResponse, relayState } = readForm(request.body);
        let verifying: Promise<VerifiedSamlAssertion> | null;
        vouched = triage.vouchedFor(samlResponse, connection.signingCertificates);
        if (vouched) {
          services.metrics.samlResponses.inc({ triage: 'vouched' });
          verifying = verify();
        } else {
          // Not vouched for: verified in full, in turn (a client that gave up is not worked for).
          verifying = unverified.run(
            { bytes: samlResponse.length + (relayState?.length ?? 0) + REQUEST_OVERHEAD_BYTES, key: addressKey(request.ip) },
            (measure) => (request.socket.destroyed ? Promise.reject(gone()) : verify(measure)),
            busy,
          );
          services.metrics.samlResponses.inc({ triage: verifying ? 'unverified' : 'busy' });
          if (!verifying) throw busy();
        }
        const verified = await verifying;
        email = verified.email;
        const result = await services.samlSignIn.signInWithSaml(verified, request.cookies[SESSION_COOKIE] ?? request.cookies[SIGN_IN_COOKIE] ?? null);
        reply.header('cache-control', 'no-store');
        if (request.cookies[SIGN_IN_COOKIE] !== undefined) reply.clearCookie(SIGN_IN_COOKIE, { path: new URL(endpoints.acsUrl).pathname });
        setSessionCookie(reply, result.sessionToken, result.sessionExpiresAt, publicUrl);
        if (wantsJson(request))
          return reply.code(200).send({
            sessionToken: result.sessionToken,
            userId: result.userId,
            organizationId: result.organizationId,
            memberships: result.memberships,
          });
        return reply.code(303).header('location', services.config.appUrl).send();
      } catch (error) {
        return refuse(request, reply, connectionId, error, email, vouched);
      }
    });

    scope.get<{ Params: { connectionId: string } }>('/saml/:connectionId/metadata', { onRequest: rateLimit }, async (request, reply) => {
      const connection = await services.samlSignIn.connection(request.params.connectionId);
      const xml = spMetadataXml(connection, samlEndpoints(publicUrl, connection.id));
      return reply.header('cache-control', 'public, max-age=300').type('application/samlmetadata+xml; charset=utf-8').send(xml);
    });

    scope.get<{ Params: { connectionId: string }; Querystring: { organizationId?: string | string[] } }>('/saml/:connectionId/login', { onRequest: rateLimit }, async (request, reply) => {
      const raw = request.query.organizationId;
      if (Array.isArray(raw)) throw new DomainError('BAD_USER_INPUT', 'Give organizationId at most once.');
      const organizationId = raw && raw.trim() ? raw.trim() : null;
      // The browser's session (a top-level navigation carries the SameSite=Lax cookie; the IdP's POST later may not).
      const cookie = request.cookies[SESSION_COOKIE];
      const session = cookie ? await services.identity.authenticate(cookie).catch(() => null) : null;
      const started = await services.samlSignIn.startSignIn(request.params.connectionId, organizationId, session?.sessionId ?? null);
      if (cookie && session?.sessionKind === 'SESSION')
        reply.setCookie(SIGN_IN_COOKIE, cookie, {
          // The ACS as the browser sees it (the public URL may have a path in front of it).
          path: new URL(samlEndpoints(publicUrl, started.connection.id).acsUrl).pathname,
          httpOnly: true,
          sameSite: secureCookie ? 'none' : 'lax',
          secure: secureCookie,
          maxAge: AUTHN_REQUEST_TTL_SECONDS,
        });
      const url = authnRequestUrl(started.connection, samlEndpoints(publicUrl, started.connection.id), started.requestId, organizationId);
      return reply.header('cache-control', 'no-store').redirect(url, 302);
    });
  });
