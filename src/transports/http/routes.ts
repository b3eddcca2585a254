/** Operational routes: liveness, readiness, metrics, JWKS. */
import type { FastifyInstance } from 'fastify';
import type { Container } from '../../app/container.js';

export const registerOperationalRoutes = (app: FastifyInstance, container: Container, isDraining: () => boolean): void => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    if (isDraining()) return reply.code(503).send({ status: 'draining' });
    const r = await container.readiness();
    return reply.code(r.ready ? 200 : 503).send(r.ready ? { status: 'ready' } : { status: 'not ready', reason: r.reason });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await container.metrics.registry.metrics();
    return reply.type(container.metrics.registry.contentType).send(body);
  });

  app.get('/.well-known/jwks.json', async (_req, reply) => {
    // Short cache: verifiers pick up a rotation within a minute; old keys stay published meanwhile.
    return reply.header('cache-control', 'public, max-age=60').send(await container.tokens.jwks());
  });
};
