/** Operational routes: liveness, readiness, metrics, JWKS. */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { TokenService } from '../../domain/tokens/token-service.js';
import { RETRY_AFTER_SECONDS } from '../../domain/unavailable.js';

/** What the operational routes ask of the gateway. */
export interface OperationalServices {
  liveness(): { live: boolean; reason?: string };
  readiness(): Promise<{ ready: boolean; reason?: string }>;
  readonly metrics: { readonly registry: Registry };
  readonly tokens: Pick<TokenService, 'jwks'>;
}

/** A readiness probe answers within this time even when the database hangs. */
export const READINESS_TIMEOUT_MS = 2_000;

const withTimeout = async <T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

export const registerOperationalRoutes = (app: FastifyInstance, services: OperationalServices, isDraining: () => boolean): void => {
  // Liveness: the process answers. It never touches the database, so a database outage
  // makes the instance unready (taken out of rotation), not dead (restarted).
  // It fails only when the event hub has not read the log for ORGWAY_EVENT_STALL_MS.
  app.get('/healthz', async (_req, reply) => {
    const l = services.liveness();
    reply.header('cache-control', 'no-store');
    if (l.live) return reply.send({ status: 'ok' });
    return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ status: 'unhealthy', reason: l.reason });
  });

  app.get('/readyz', async (_req, reply) => {
    if (isDraining()) return reply.code(503).send({ status: 'not ready', reason: 'shutting down' });
    const r = await withTimeout(services.readiness(), READINESS_TIMEOUT_MS, () => ({
      ready: false,
      reason: `database did not answer within ${READINESS_TIMEOUT_MS} ms`,
    }));
    if (!r.ready) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    return reply
      .code(r.ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(r.ready ? { status: 'ready' } : { status: 'not ready', reason: r.reason });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await services.metrics.registry.metrics();
    return reply.type(services.metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });

  app.get('/.well-known/jwks.json', async (_req, reply) => {
    // Short cache: verifiers pick up a rotation within a minute; old keys stay published meanwhile.
    return reply.header('cache-control', 'public, max-age=60').send(await services.tokens.jwks());
  });
};
