/**
 * The HTTP server: Fastify with the transports registered. `drain()` implements
 * SIGTERM: stop accepting, close subscriptions with 1001, finish requests, close the pool.
 */
import fastifyCookie from '@fastify/cookie';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { registerAuthRoutes } from '../transports/auth/routes.js';
import { registerGraphQL } from '../transports/graphql/register.js';
import { registerOperationalRoutes } from '../transports/http/routes.js';
import { registerScimRoutes } from '../transports/scim/routes.js';
import { MAX_BODY_BYTES } from '../transports/shared/body-limits.js';
import { registerSamlRoutes } from '../transports/saml/routes.js';
import { isDomainError } from '../domain/model/index.js';
import { RETRY_AFTER_SECONDS, unavailableOr } from '../domain/unavailable.js';
import { registerUiRoutes } from '../transports/ui/routes.js';
import type { Container } from './container.js';

export interface Server {
  app: FastifyInstance;
  /** Graceful shutdown, bounded by the configured timeout. Closes the container too. */
  drain(): Promise<void>;
}


export const buildServer = async (container: Container): Promise<Server> => {
  let draining = false;
  const app = Fastify({
    loggerInstance: container.log.child({ component: 'http' }) as FastifyBaseLogger,
    // Requests are measured in metrics; per-request log lines would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
    // Bodies above the largest any route takes are refused (SAML; GraphQL needs far less).
    bodyLimit: MAX_BODY_BYTES,
    // Which address is the client (rate limits): the socket's peer unless ORGWAY_TRUST_PROXY says otherwise.
    trustProxy: container.config.trustProxy as boolean, // a number (hops) works too; Fastify's types omit it
    return503OnClosing: true,
  });
  await app.register(fastifyCookie);
  // The GraphQL transport tracks its own connections (and closes them when draining),
  // so ws's client set would only cost memory per connection; compression stays off
  // (it would hold a zlib context per socket).
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024, clientTracking: false, perMessageDeflate: false } });

  app.addHook('onResponse', async (request, reply) => {
    container.metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // Routes without their own error mapping: a database outage is "retry later", not a 500.
  app.setErrorHandler((error, _request, reply) => {
    const mapped = unavailableOr(error);
    if (!isDomainError(mapped) || mapped.code !== 'UNAVAILABLE') return reply.send(error);
    return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).header('cache-control', 'no-store').send({ error: { code: mapped.code, message: mapped.message } });
  });
  registerOperationalRoutes(app, container, () => draining);
  registerScimRoutes(app, container);
  await registerSamlRoutes(app, container);
  await registerAuthRoutes(app, container);
  const pages = registerUiRoutes(app);
  const graphql = await registerGraphQL(app, container, { landingPageHtml: pages.explorerHtml });

  return {
    app,
    async drain() {
      if (draining) return;
      draining = true;
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), container.config.shutdownTimeoutMs).unref());
      graphql.closeSubscriptions();
      const closed = (async () => {
        await app.close(); // stops accepting, waits for in-flight requests
        await graphql.stop();
        return 'closed' as const;
      })();
      const outcome = await Promise.race([closed, timeout]);
      if (outcome === 'timeout') container.log.warn('shutdown timeout reached; closing with requests in flight');
      await container.close();
    },
  };
};
