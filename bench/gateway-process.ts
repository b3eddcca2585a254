/**
 * The gateway under test, in its own process: the real container and Fastify server
 * (`buildServer`) listening on loopback, exactly as `orgway serve` runs it.
 * Started by bench/run.js with --expose-gc (and --cpu-prof when profiling).
 *
 * Commands: `sql` (statements sent since the last reset, from the ORM's statement
 * observer — the same source as `orgway_sql_statements_total`), `resetSql`,
 * `captureSql` / `capturedSql` (the statements themselves), `memory` (after GC), `heapCensus`, `subscribers` (listeners registered in the event hub),
 * `profileStart` / `profileStop` (CPU profile of a phase, written to the given file).
 */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createContainer } from '../src/app/container.js';
import { buildServer } from '../src/app/server.js';
import { loadConfig } from '../src/config/config.js';
import { measuredMemory, serveChild } from './lib/child.js';
import { heapCensus } from './lib/heap-census.js';

const databaseUrl = process.env.BENCH_GATEWAY_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_GATEWAY_DATABASE_URL is not set');

const config = loadConfig({
  DATABASE_URL: databaseUrl,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  ORGWAY_PUBLIC_URL: 'http://127.0.0.1:4000',
  ORGWAY_SHUTDOWN_TIMEOUT_MS: '5000',
  // Load comes from one machine: clients say who they are in X-Forwarded-For (SAML phases), and one
  // token's load phases must not be throttled (credentials are still counted: that cost is measured).
  ORGWAY_TRUST_PROXY: 'true',
  ORGWAY_RATE_LIMIT_CREDENTIAL: '100000000',
  // bench/webhooks.ts delivers to receivers on loopback.
  ORGWAY_WEBHOOK_ALLOW_PRIVATE: process.env.ORGWAY_WEBHOOK_ALLOW_PRIVATE,
});
const container = await createContainer(config);
let statements = 0;
let captured: string[] | undefined;
container.db.observeStatements((sql) => {
  statements += 1;
  if (captured && captured.length < 100) captured.push(sql.replace(/\s+/g, ' ').slice(0, 160));
});
const server = await buildServer(container);
await server.app.listen({ port: 0, host: '127.0.0.1' });
const address = server.app.server.address();
if (!address || typeof address === 'string') throw new Error('no address');

let inspector: Session | undefined;

serveChild(
  address.port,
  {
    sql: () => statements,
    cpu: () => process.cpuUsage(),
    captureSql: () => {
      captured = [];
      return true;
    },
    capturedSql: () => {
      const c = captured ?? [];
      captured = undefined;
      return c;
    },
    resetSql: () => {
      statements = 0;
      return 0;
    },
    memory: () => measuredMemory(),
    heapCensus: async () => {
      await measuredMemory(); // collects garbage first
      return heapCensus();
    },
    subscribers: () => container.events.subscriberCount,
    profileStart: async () => {
      inspector = new Session();
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.setSamplingInterval', { interval: 500 });
      await inspector.post('Profiler.start');
      return true;
    },
    profileStop: async (file) => {
      if (!inspector) throw new Error('profileStart first');
      const { profile } = await inspector.post('Profiler.stop');
      inspector.disconnect();
      inspector = undefined;
      await writeFile(String(file), JSON.stringify(profile));
      return String(file);
    },
  },
  () => server.drain(),
);
