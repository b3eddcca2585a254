/** GraphQL over HTTP (Apollo on Fastify) and graphql-ws subscriptions on the same path. */
import { ApolloServer, type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type ExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
} from 'graphql';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { CloseCode, makeServer } from 'graphql-ws';
import type { Logger } from 'pino';
import type { EventHub } from '../../domain/events/event-hub.js';
import { endedSessions } from '../../domain/identity/ended-sessions.js';
import type { IdentityService } from '../../domain/identity/identity-service.js';
import { isDomainError } from '../../domain/model/index.js';
import type { Clock } from '../../domain/runtime.js';
import { unavailableOr } from '../../domain/unavailable.js';
import type { TransactionRunner } from '../../domain/unit-of-work.js';
import { authenticate, type AuthenticationServices } from '../shared/authentication.js';
import type { OperationMetrics } from '../shared/metrics.js';
import { addressBlocked, countCredential, countUnauthenticated, RATE_LIMITED, type RateLimited, rateLimitMessage } from '../shared/rate-limit.js';
import { createContext, type GraphQLContext, type ResolverServices } from './context.js';
import { createCompiledExecutor } from './compiled-execution.js';
import { createGraphQLDocuments, OWN_VALIDATION_RULES } from './documents.js';
import { checkResultSize, parseOptions } from './cost-limits.js';
import { formatGraphQLError, TRY_AGAIN_LATER, unavailableHttpExtensions, unavailableStatusPlugin } from './errors.js';
import { checkVariables } from './text-input.js';
import { buildGraphQLSchema } from './schema.js';
import { type ConnectionExtra, createSubscriptionServer } from './subscriptions/server.js';
import { createSharedSubscribe } from './subscriptions/shared-results.js';

export interface GraphQLTransport {
  /** Ends every subscription with close code 1001 (going away), for draining. */
  closeSubscriptions(): void;
  stop(): Promise<void>;
}

const landingPage = (html: () => string): ApolloServerPlugin<GraphQLContext> => ({
  async serverWillStart() {
    return { renderLandingPage: async () => ({ html: async () => html() }) };
  },
});

/** graphql-ws close code for a refused connection_init over the rate limit (4429, as HTTP 429). */
const RATE_LIMITED_CLOSE = 4429;

class RateLimitedConnection extends Error {
  constructor(readonly seconds: number) {
    super('rate limited');
  }
}

export interface GraphQLOptions {
  /** The page a browser gets at GET /graphql (the explorer), instead of Apollo's, which loads from a CDN. */
  landingPageHtml?: () => string;
}

/** What the GraphQL transport asks of the gateway: the resolvers' services, and what the endpoint itself needs. */
export interface GraphQLServices extends ResolverServices, AuthenticationServices, RateLimited {
  readonly config: { readonly publicUrl: string; readonly appUrl: string; readonly sessionRecheckMs: number };
  readonly metrics: ResolverServices['metrics'] & OperationMetrics & { readonly compiledOperations: { set(value: number): void } };
  readonly identity: Pick<IdentityService, 'authenticate' | 'createApiToken' | 'signOut'>;
  readonly log: Logger;
  readonly clock: Clock;
  readonly tx: TransactionRunner;
  readonly events: Pick<EventHub, 'onStall'>;
}

export const registerGraphQL = async (app: FastifyInstance, services: GraphQLServices, options: GraphQLOptions = {}): Promise<GraphQLTransport> => {
  const schema = await buildGraphQLSchema();
  const documents = createGraphQLDocuments(schema);
  const formatError = formatGraphQLError(services.log);
  const compiled = createCompiledExecutor(schema);
  const apollo = new ApolloServer<GraphQLContext>({
    // Apollo's pipeline with our execute step (compiled-execution.ts); the gateway
    // interface is the one Apollo offers for that.
    gateway: {
      onSchemaLoadOrUpdate(callback) {
        callback({ apiSchema: schema, coreSupergraphSdl: '' });
        return () => undefined;
      },
      load: async () => ({
        executor: async (rc) => {
          const result = await compiled.execute({ document: rc.document, operationName: rc.request.operationName, variables: rc.request.variables, context: rc.context });
          services.metrics.compiledOperations.set(compiled.compiledCount);
          return result;
        },
      }),
      stop: async () => undefined,
    },
    formatError,
    parseOptions,
    validationRules: OWN_VALIDATION_RULES,
    csrfPrevention: true,
    introspection: true,
    // We drain ourselves on SIGTERM; Apollo's own handlers would stop the server mid-drain.
    stopOnTerminationSignals: false,
    plugins: [
      // No field sets cache hints; the default plugin would still visit every resolved field.
      ApolloServerPluginCacheControlDisabled(),
      unavailableStatusPlugin(),
      ...(options.landingPageHtml ? [landingPage(options.landingPageHtml)] : []),
      {
        async requestDidStart() {
          const started = process.hrtime.bigint();
          return {
            // Every execution, cached documents included: the estimate depends on the variables.
            async didResolveOperation({ document, operationName, request }) {
              const badText = checkVariables(request.variables);
              if (badText) throw badText;
              const tooBig = checkResultSize(schema, document, operationName, request.variables);
              if (tooBig) throw tooBig;
            },
            async willSendResponse({ errors, operationName }) {
              const seconds = Number(process.hrtime.bigint() - started) / 1e9;
              services.metrics.operationDuration.observe(
                { transport: 'graphql', operation: documents.operationLabel(operationName), outcome: errors?.length ? 'error' : 'ok' },
                seconds,
              );
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  /** SPEC §8: over the limit, HTTP 429 with Retry-After and extensions.code RATE_LIMITED. */
  const rateLimited = (seconds: number) =>
    new GraphQLError(rateLimitMessage(seconds), {
      extensions: { code: RATE_LIMITED, retryAfterSeconds: seconds, http: { status: 429, headers: new HeaderMap([['retry-after', String(seconds)]]) } },
    });

  const context = async (request: FastifyRequest, _reply: FastifyReply): Promise<GraphQLContext> => {
    const blocked = addressBlocked(services, request.ip);
    if (blocked !== null) throw rateLimited(blocked);
    let credentials: Awaited<ReturnType<typeof authenticate>>;
    try {
      credentials = await authenticate(services, request);
    } catch (thrown) {
      // Apollo answers 500 for a plain error thrown while building the context; a
      // refused credential is the client's problem: 401 / 403 with the domain's code.
      const error = unavailableOr(thrown);
      if (isDomainError(error) && error.code === 'UNAVAILABLE')
        throw new GraphQLError(error.message, { extensions: { code: error.code, ...error.details, ...unavailableHttpExtensions() } });
      const wait = await countUnauthenticated(services, request.ip);
      if (wait !== null) throw rateLimited(wait);
      if (isDomainError(error))
        throw new GraphQLError(error.message, {
          extensions: { code: error.code, http: { status: error.code === 'FORBIDDEN' ? 403 : 401 } },
        });
      throw error;
    }
    const { principal, viaCookie } = credentials;
    const wait = principal ? countCredential(services, principal.sessionId, principal) : await countUnauthenticated(services, request.ip);
    if (wait !== null) throw rateLimited(wait);
    return createContext(services, principal, viaCookie);
  };
  const handler = fastifyApolloHandler(apollo, { context });

  /**
   * Signing out (or expiry) ends the connections that authenticated with that session:
   * one query per interval for all of this instance's connections, so a signOut on any
   * instance takes effect within ORGWAY_SESSION_RECHECK_MS. Close code 4401, which
   * graphql-ws clients treat as fatal (no reconnect with the dead token).
   */
  let rechecking = false;
  const recheckSessions = async () => {
    if (rechecking) return;
    rechecking = true;
    try {
      const open = [...subscriptions.connections()].filter((c) => c.sessionId !== null);
      if (open.length === 0) return;
      const ended = await endedSessions(services.tx, services.clock.now(), [...new Set(open.map((c) => c.sessionId!))]);
      for (const c of open) if (ended.has(c.sessionId!)) c.socket.close(CloseCode.Unauthorized, 'Unauthorized: your session was signed out or has expired; sign in again');
    } catch (error) {
      services.log.warn({ err: error }, 'checking the sessions of open subscriptions failed');
    } finally {
      rechecking = false;
    }
  };
  const recheck = services.config.sessionRecheckMs > 0 ? setInterval(() => void recheckSessions(), services.config.sessionRecheckMs) : undefined;
  recheck?.unref();
  const wsServer = makeServer<Record<string, unknown> | undefined, ConnectionExtra>({
    schema,
    // Thousands of clients subscribe with the same few documents: parse and validate
    // each distinct one once and share it, instead of one parsed copy per subscriber.
    parse: documents.parse,
    validate: documents.validate,
    subscribe: createSharedSubscribe(),
    async onConnect(ctx) {
      // Refusals close with 4401/4403 and a reason that says what to fix.
      const refuse = (code: number, message: string) => {
        ctx.extra.socket.close(code, message.slice(0, 120));
        return false;
      };
      const address = ctx.extra.request?.ip ?? '';
      try {
        const blocked = addressBlocked(services, address);
        if (blocked !== null) return refuse(RATE_LIMITED_CLOSE, `${RATE_LIMITED}: ${rateLimitMessage(blocked)}`);
        const bearer = typeof ctx.connectionParams?.authorization === 'string' ? ctx.connectionParams.authorization : undefined;
        const { principal, viaCookie } = await authenticate(services, ctx.extra.request ?? { headers: {} }, bearer).catch(async (error: unknown) => {
          const wait = await countUnauthenticated(services, address);
          if (wait !== null) throw new RateLimitedConnection(wait);
          throw error;
        });
        if (!principal) {
          const wait = await countUnauthenticated(services, address);
          if (wait !== null) return refuse(RATE_LIMITED_CLOSE, `${RATE_LIMITED}: ${rateLimitMessage(wait)}`);
          return refuse(CloseCode.Unauthorized, 'Unauthenticated: pass { authorization: "Bearer <token>" } in connection_init');
        }
        const wait = countCredential(services, principal.sessionId, principal);
        if (wait !== null) return refuse(RATE_LIMITED_CLOSE, `${RATE_LIMITED}: ${rateLimitMessage(wait)}`);
        // The connection keeps who it is, not the user row read with the session: that
        // row would go stale over a long-lived connection, and a read is cheap.
        const { user: _user, ...connectionPrincipal } = principal;
        ctx.extra.graphqlContext = createContext(services, connectionPrincipal, viaCookie);
        ctx.extra.sessionId = principal.sessionId;
        return true;
      } catch (thrown) {
        if (thrown instanceof RateLimitedConnection) return refuse(RATE_LIMITED_CLOSE, `${RATE_LIMITED}: ${rateLimitMessage(thrown.seconds)}`);
        const error = unavailableOr(thrown);
        // The database is away: "try again later", which graphql-ws clients retry.
        if (isDomainError(error) && error.code === 'UNAVAILABLE') return refuse(TRY_AGAIN_LATER, `${error.code}: the database is unavailable; reconnect later`);
        if (isDomainError(error)) return refuse(error.code === 'FORBIDDEN' ? CloseCode.Forbidden : CloseCode.Unauthorized, `${error.code}: ${error.message}`);
        throw error;
      } finally {
        // Neither the upgrade request nor the token is needed once the connection is authenticated.
        // (Assigned, not deleted: a delete would turn graphql-ws's context into a slower, larger dictionary object.)
        ctx.extra.request = undefined;
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
      }
    },
    onSubscribe(ctx, _id, payload) {
      // Each operation on the socket is a request by the connection's credential.
      const principal = ctx.extra.graphqlContext?.principal;
      const wait = principal ? countCredential(services, principal.sessionId, principal) : null;
      if (wait !== null) return [new GraphQLError(rateLimitMessage(wait), { extensions: { code: RATE_LIMITED, retryAfterSeconds: wait } })];
      const refused = documents.refusalsOf(payload);
      if (refused) return refused;
      (payload as { query: string }).query = documents.sharedQueryText(payload.query);
      return undefined;
    },
    context: (ctx) => {
      const base = ctx.extra.graphqlContext!;
      // A fresh read scope per operation; the principal is the connection's.
      return createContext(services, base.principal, base.viaCookie);
    },
    onNext: (ctx, _id, _payload, _args, result) => {
      // Not a result: a stand-in the connection's send() replaces by the result's JSON.
      if (!result.errors?.length) return ctx.extra.payloadStandIn(result) as unknown as ExecutionResult;
      return { ...result, errors: result.errors.map((e) => formatError(e.toJSON?.() ?? (e as GraphQLFormattedError), e)) };
    },
    // An error thrown by a running subscription's source stream (FORBIDDEN after losing
    // access) reaches the client as that one operation's `error` message, mapped like
    // any other error (extensions.code); the socket and its other subscriptions stay open.
    onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)),
  });
  const subscriptions = createSubscriptionServer(wsServer, app.websocketServer, services.log.child({ component: 'graphql-ws' }) as FastifyBaseLogger);
  // The event hub could not read the log for a while: what it would deliver is unknown, so
  // every connection closes with "try again later" and its client resubscribes with `after`.
  const stopWatchingEvents = services.events.onStall(() => {
    for (const c of [...subscriptions.connections()]) c.socket.close(TRY_AGAIN_LATER, 'event log unreadable; reconnect and resubscribe with after');
  });

  // Answers carry the viewer's data under a URL that does not name the viewer: no cache may keep them.
  const noStore = async (_request: FastifyRequest, reply: FastifyReply) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    // The explorer runs operations with the session cookie: no other site may frame it (clickjacking), as for the hosted pages.
    if (/^text\/html\b/.test(String(reply.getHeader('content-type') ?? ''))) reply.header('x-frame-options', 'DENY').header('content-security-policy', "frame-ancestors 'none'");
  };
  app.route({
    method: 'GET',
    url: '/graphql',
    onSend: noStore,
    handler: handler as never,
    wsHandler(socket, request) {
      subscriptions.handle(socket, request);
    },
  });
  app.route({ method: ['POST', 'OPTIONS'], url: '/graphql', onSend: noStore, handler: handler as never });

  return {
    closeSubscriptions() {
      stopWatchingEvents();
      if (recheck) clearInterval(recheck);
      subscriptions.stop();
      for (const c of [...subscriptions.connections()]) c.socket.close(1001, 'server shutting down');
    },
    stop: () => {
      stopWatchingEvents();
      if (recheck) clearInterval(recheck);
      subscriptions.stop();
      return apollo.stop();
    },
  };
};
