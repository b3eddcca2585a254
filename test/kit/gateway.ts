/**
 * A real gateway for tests: container + Fastify server listening on a free
 * loopback port, on a fresh PostgreSQL database (or one passed in). `useGateway` is the
 * per-file set-up: started before the file's (or describe block's) tests, closed after them.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { type Container, createContainer } from '../../src/app/container.js';
import { buildServer, type Server } from '../../src/app/server.js';
import { loadConfig } from '../../src/config/config.js';
import { openDatabase } from '../../src/persistence/orm.js';
import type { Clock } from '../../src/domain/runtime.js';
import type { Resolver } from '../../src/adapters/webhook-http-client.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { started } from './started.js';

export interface GqlResult<T> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

export interface Gateway {
  t: TestDatabase;
  container: Container;
  server: Server;
  url: string;
  gql<T = Record<string, unknown>, V = Record<string, unknown>>(
    doc: string | TypedDocumentNode<T, V> | DocumentNode,
    variables?: V,
    token?: string | null,
    headers?: Record<string, string>,
  ): Promise<GqlResult<T>>;
  ws(token?: string | null, extra?: { headers?: Record<string, string> }): Client;
  /** An organization with an ORG_ADMIN who has an API token. */
  bootstrap(name?: string, email?: string): Promise<{ orgId: string; userId: string; email: string; token: string }>;
  /** A user (new or existing) with a fresh session; optionally staged into an organization first by its admin. */
  close(): Promise<void>;
}

export interface StartOptions {
  t?: TestDatabase;
  env?: Record<string, string>;
  clock?: Clock;
  /** Reach the test database at this URL (e.g. through a TCP proxy), with the configured timeouts. */
  databaseUrl?: string;
  /** Name resolution of the webhook HTTP client. */
  webhookResolver?: Resolver;
  /** Listen on this port instead of a free one (when the public URL must name the real port). */
  port?: number;
}

export const startGateway = async (options: StartOptions = {}): Promise<Gateway> => {
  const t = options.t ?? (await createTestDatabase());
  const config = loadConfig({
    DATABASE_URL: options.databaseUrl ?? t.url,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ORGWAY_PUBLIC_URL: 'http://127.0.0.1:4000',
    ORGWAY_SHUTDOWN_TIMEOUT_MS: '3000',
    ...options.env,
  });
  const own = options.databaseUrl
    ? await openDatabase({
        databaseUrl: options.databaseUrl,
        poolMax: 5,
        limits: config.database,
        preparedStatements: config.database.preparedStatements,
        transactionPooler: config.database.poolMode === 'transaction',
      })
    : undefined;
  const container = await createContainer(config, {
    db: own ?? (await t.open()),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.webhookResolver ? { webhookResolver: options.webhookResolver } : {}),
  });
  const server = await buildServer(container);
  await server.app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const address = server.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  const url = `http://127.0.0.1:${address.port}`;
  const clients: Client[] = [];
  let n = 0;

  const gw: Gateway = {
    t,
    container,
    server,
    url,
    async gql(doc, variables, token, headers = {}) {
      const query = typeof doc === 'string' ? doc : print(doc as DocumentNode);
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GqlResult<never>;
    },
    ws(token, extra = {}) {
      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers: extra.headers ?? {} });
          }
        },
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async bootstrap(name, email) {
      n += 1;
      const r = await container.organizations.bootstrap({
        organizationName: name ?? `Org ${n} ${Math.random().toString(36).slice(2, 6)}`,
        adminEmail: email ?? `admin${n}.${Math.random().toString(36).slice(2, 8)}@example.com`,
      });
      return { orgId: r.organization.id, userId: r.userId, email: r.email, token: r.apiToken.token };
    },
    async close() {
      for (const c of clients) await c.dispose();
      await server.drain();
      await own?.close();
      if (!options.t) await t.drop();
    },
  };
  return gw;
};

export type GatewayOptions = StartOptions | (() => StartOptions | Promise<StartOptions>);

/**
 * A gateway for the file (or the describe block it is called in), on its own database unless
 * the options name one: started in beforeAll, closed (its database dropped) in afterAll.
 * Options given as a function are read when the gateway starts (after earlier hooks ran).
 */
export const useGateway = (options: GatewayOptions = {}): Gateway => {
  const handle = started<Gateway>('useGateway');
  beforeAll(async () => handle.set(await startGateway(typeof options === 'function' ? await options() : options)));
  afterAll(() => handle.current()?.close());
  return handle.value;
};

/**
 * One series' value in a /metrics text: a name (its first series) or a name with its labels.
 * A series that is not there fails, so a renamed metric cannot read as 0 or NaN and pass.
 */
export const metricIn = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `) || (!series.includes('{') && l.startsWith(`${series}{`)));
  if (line === undefined) throw new Error(`no ${series} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
};

/** One series' value from the gateway's GET /metrics. */
export const metric = async (gw: { url: string }, series: string): Promise<number> => metricIn(await (await fetch(`${gw.url}/metrics`)).text(), series);

/** Collects the next `count` values of a subscription. */
export const take = <T>(client: Client, query: string | DocumentNode, variables: Record<string, unknown>, count: number, timeoutMs = 10_000) => {
  const values: T[] = [];
  const errors: unknown[] = [];
  let resolveDone: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const timer = setTimeout(() => resolveDone(), timeoutMs);
  const unsubscribe = client.subscribe<T>(
    { query: typeof query === 'string' ? query : print(query), variables },
    {
      next: (v) => {
        if (v.errors) errors.push(...v.errors);
        if (v.data) values.push(v.data as T);
        if (values.length + errors.length >= count) resolveDone();
      },
      error: (e) => {
        errors.push(e);
        resolveDone();
      },
      complete: () => resolveDone(),
    },
  );
  return {
    values,
    errors,
    done: done.then(() => clearTimeout(timer)),
    unsubscribe,
  };
};
