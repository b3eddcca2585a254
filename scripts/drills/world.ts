/**
 * What every drill runs on: a PostgreSQL cluster of its own, a TCP proxy in front of it,
 * two gateway instances (A through the proxy, B direct), organizations with an
 * ORG_ADMIN's API token each, the load balancer's health monitor, and a direct pool for
 * reading the log.
 */
import 'reflect-metadata';
import pg from 'pg';
import { createContainer } from '../../src/app/container.js';
import { loadConfig } from '../../src/config/config.js';
import { LATEST_EVENT_ID_SQL } from '../../src/domain/events/event-log.js';
import { openDatabase } from '../../src/persistence/orm.js';
import { startTcpProxy, type TcpProxy } from '../../test/kit/tcp-proxy.js';
import { GatewayInstance } from './gateway-instance.js';
import { HealthMonitor } from './health-monitor.js';
import { createPostgresCluster, freePort, type PostgresCluster } from './postgres-cluster.js';
import type { WriterOrganization } from './writer.js';

export interface World {
  cluster: PostgresCluster;
  proxy: TcpProxy;
  /** A reaches PostgreSQL through the proxy, B directly. */
  instances: [GatewayInstance, GatewayInstance];
  monitor: HealthMonitor;
  organizations: WriterOrganization[];
  databaseUrl: string;
  /** Direct reads of the log (PostgreSQL itself is the referee). */
  referee: pg.Pool;
  destroy(): Promise<void>;
}

export const DATABASE = 'orgway_drills';

export const createWorld = async (options: { organizations: number; log: (line: string) => void }): Promise<World> => {
  const cluster = await createPostgresCluster();
  let proxy: TcpProxy | undefined;
  let instances: [GatewayInstance, GatewayInstance] | undefined;
  let monitor: HealthMonitor | undefined;
  let referee: pg.Pool | undefined;
  const destroy = async () => {
    monitor?.stop();
    for (const i of instances ?? []) await i.stop().catch(() => undefined);
    await referee?.end().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await cluster.destroy();
  };
  try {
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query(`create database ${DATABASE}`);
    await admin.end();
    const databaseUrl = cluster.url(DATABASE);

    const migrating = await openDatabase({ databaseUrl, poolMax: 2 });
    try {
      await migrating.orm.migrator.up();
    } finally {
      await migrating.close();
    }

    // Organizations and their admins' tokens, through the gateway's own use case.
    const seeding = await createContainer(loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', ORGWAY_PUBLIC_URL: 'http://127.0.0.1:4000' }), {
      startBackground: false,
    });
    const organizations: WriterOrganization[] = [];
    try {
      for (let i = 0; i < options.organizations; i++) {
        const r = await seeding.organizations.bootstrap({ organizationName: `Drill org ${i + 1}`, adminEmail: `admin${i + 1}@drills.example.com` });
        organizations.push({ id: r.organization.id, token: r.apiToken.token });
      }
    } finally {
      await seeding.close();
    }

    proxy = await startTcpProxy({ host: '127.0.0.1', port: cluster.port });
    instances = [
      new GatewayInstance('A', await freePort(), proxy.via(databaseUrl), cluster.dir),
      new GatewayInstance('B', await freePort(), databaseUrl, cluster.dir),
    ];
    for (const i of instances) {
      const ms = await i.start();
      options.log(`instance ${i.name} (pid ${i.pid}, port ${i.port}${i.name === 'A' ? ', through the TCP proxy' : ', direct'}) ready in ${(ms / 1000).toFixed(1)} s`);
    }
    // A crash of the drill process must not leave instances or the cluster running.
    const started = instances;
    process.once('exit', () => {
      for (const i of started) i.kill9();
      cluster.destroySync();
    });
    monitor = new HealthMonitor(instances);
    monitor.start();
    referee = new pg.Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 5_000 });
    // An outage ends the referee's idle connections; the pool replaces them on the next read.
    referee.on('error', () => undefined);
    return { cluster, proxy, instances, monitor, organizations, databaseUrl, referee, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
};

/** The newest event id every reader can see (below the horizon), once nothing committed waits above it. */
export const settledPosition = async (referee: pg.Pool, timeoutMs = 10_000): Promise<string> => {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await referee.query<{ newest: string; readable: string }>(
      `select coalesce(max(id), 0)::text as newest, ${LATEST_EVENT_ID_SQL} as readable from membership_events`,
    );
    const row = rows[0]!;
    if (row.newest === row.readable || performance.now() > until) return row.readable;
    await new Promise((r) => setTimeout(r, 10));
  }
};

export interface LogEvent {
  id: string;
  organizationId: string;
  userId: string;
  type: string;
}

/** The log in (after, upTo], for these organizations, in id order. */
export const readLog = async (referee: pg.Pool, organizationIds: string[], after: string, upTo: string): Promise<LogEvent[]> => {
  const { rows } = await referee.query<{ id: string; organization_id: string; user_id: string; type: string }>(
    `select id::text as id, organization_id, user_id, type from membership_events
      where organization_id = any($1) and id > $2::bigint and id <= $3::bigint order by id`,
    [organizationIds, after, upTo],
  );
  return rows.map((r) => ({ id: r.id, organizationId: r.organization_id, userId: r.user_id, type: r.type }));
};

/** Which of these emails belong to a user with a membership in the organization (the write committed). */
export const committedEmails = async (referee: pg.Pool, emails: string[]): Promise<Set<string>> => {
  if (!emails.length) return new Set();
  const { rows } = await referee.query<{ email: string }>(
    `select u.email from users u join memberships m on m.user_id = u.id where u.email = any($1)`,
    [emails],
  );
  return new Set(rows.map((r) => r.email));
};
