/**
 * Operating the gateway: /healthz, /readyz, /metrics, refusing an unmigrated database,
 * configuration errors of the real process, and SIGTERM draining of the compiled server.
 */
import pg from 'pg';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createContainer, NotMigratedError } from '../../src/app/container.js';
import { loadConfig } from '../../src/config/config.js';
import { ensureBuilt, killAll, MAIN, run, startServer } from '../kit/compiled.js';
import { ADMIN_URL, rows, useDatabase } from '../kit/db.js';
import { metricIn, take, useGateway } from '../kit/gateway.js';

const metricsText = async (url: string) => {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};
const waitFor = async (check: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};
const readyz = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
};

afterAll(() => killAll());

describe('probes and metrics', () => {
  const gw = useGateway();

  test('GET /healthz answers 200', async () => {
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('GET /readyz answers 200 on a migrated, reachable database', async () => {
    expect(await readyz(gw.url)).toEqual({ status: 200, body: { status: 'ready' } });
  });

  test('GET /metrics exposes request and operation durations, active subscriptions and published events', async () => {
    const { token, orgId } = await gw.bootstrap('Metrics Inc');
    const before = await metricsText(gw.url);
    for (const name of [
      'orgway_http_request_duration_seconds',
      'orgway_operation_duration_seconds',
      'orgway_active_subscriptions',
      'orgway_membership_events_published_total',
    ])
      expect(before).toContain(`# TYPE ${name} `);
    expect(metricIn(before, 'orgway_active_subscriptions')).toBe(0);
    const published = metricIn(before, 'orgway_membership_events_published_total');

    // A named operation is measured by name (clients send operationName with it); its HTTP
    // request by route and status.
    const q = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'query MetricsProbe { viewer { user { id } } }', operationName: 'MetricsProbe' }),
    });
    expect(((await q.json()) as { errors?: unknown }).errors).toBeUndefined();
    // One membership change = one event published.
    const client = gw.ws(token);
    const sub = take<any>(client, 'subscription($o: ID) { membershipChanged(organizationId: $o) { type } }', { o: orgId }, 1);
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));
    let during = await metricsText(gw.url);
    for (let i = 0; i < 50 && metricIn(during, 'orgway_active_subscriptions') !== 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      during = await metricsText(gw.url);
    }
    expect(metricIn(during, 'orgway_active_subscriptions')).toBe(1);
    const st = await gw.gql<any>('mutation($o: ID!) { stageUser(organizationId: $o, email: "metrics@example.com") { id } }', { o: orgId }, token);
    expect(st.errors).toBeUndefined();
    await sub.done;
    expect(sub.values).toHaveLength(1);

    const after = await metricsText(gw.url);
    expect(metricIn(after, 'orgway_membership_events_published_total')).toBe(published + 1);
    expect(metricIn(after, 'orgway_operation_duration_seconds_count{transport="graphql",operation="MetricsProbe",outcome="ok"}')).toBe(1);
    expect(metricIn(after, 'orgway_http_request_duration_seconds_count{method="POST",route="/graphql",status="200"}')).toBeGreaterThanOrEqual(2);
    expect(metricIn(after, 'orgway_http_request_duration_seconds_count{method="GET",route="/metrics",status="200"}')).toBeGreaterThanOrEqual(1);

    await client.dispose();
    let closed = await metricsText(gw.url);
    for (let i = 0; i < 50 && metricIn(closed, 'orgway_active_subscriptions') !== 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      closed = await metricsText(gw.url);
    }
    expect(metricIn(closed, 'orgway_active_subscriptions')).toBe(0);
  });

  test('unknown paths are counted under one label, not one series per path', async () => {
    await fetch(`${gw.url}/no/such/path/${Math.random()}`);
    const m = await metricsText(gw.url);
    expect(metricIn(m, 'orgway_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}')).toBeGreaterThanOrEqual(1);
    expect(m).not.toContain('/no/such/path');
  });
});

describe('readiness of a broken database', () => {
  const t = useDatabase();
  const gw = useGateway({ t });

  test('503 with the pending migrations named while the schema is behind the code', async () => {
    expect((await readyz(gw.url)).status).toBe(200);
    await rows(t, "delete from mikro_orm_migrations where name like 'Migration0001%'");
    const r = await readyz(gw.url);
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('not ready');
    expect(r.body.reason).toMatch(/1 pending migration\(s\) \(Migration0001Initial\); run `orgway migrate`/);
    await rows(t, "insert into mikro_orm_migrations (name, executed_at) values ('Migration0001Initial', now())");
    expect((await readyz(gw.url)).status).toBe(200);
  });

  test('503 within a bounded time while the database does not answer', async () => {
    const blocker = new pg.Client({ connectionString: t.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table mikro_orm_migrations in access exclusive mode');
      const started = Date.now();
      const r = await readyz(gw.url);
      expect(r.status).toBe(503);
      expect(r.body.reason).toMatch(/did not answer within 2000 ms/);
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    expect((await readyz(gw.url)).status).toBe(200);
    // Liveness never depends on the database.
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  test('503 naming the cause when the database is unreachable', async () => {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`drop database ${t.name} with (force)`);
    await admin.end();
    const r = await readyz(gw.url);
    expect(r.status).toBe(503);
    expect(r.body.reason).toMatch(/^database unreachable: .*does not exist/);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});

describe('an unmigrated PostgreSQL database', () => {
  const t = useDatabase({ migrate: false });

  test('createContainer refuses with a message naming `orgway migrate`, and creates no tables', async () => {
    const config = loadConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' });
    const attempt = createContainer(config, { db: t.db, startBackground: false });
    await expect(attempt).rejects.toBeInstanceOf(NotMigratedError);
    await expect(attempt).rejects.toThrow(/\d+ pending migration\(s\) \(Migration0001Initial[^)]*\)\. Run `orgway migrate` first\./);
    const [row] = await rows<{ t: string | null }>(t, "select to_regclass('public.signing_keys')::text as t");
    expect(row!.t).toBeNull();
    // Once migrated (here by the explicit option), it starts.
    const c = await createContainer(config, { db: t.db, startBackground: false, migrate: true });
    expect(await c.readiness()).toEqual({ ready: true });
    await c.close();
  });
});

describe('the compiled server', () => {
  const t = useDatabase();
  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(() => killAll());

  test('a bad PORT, LOG_LEVEL, ORGWAY_PUBLIC_URL or DATABASE_URL stops the process with a message naming it', async () => {
    const cases: Record<string, string> = { PORT: 'abc', LOG_LEVEL: 'loud', ORGWAY_PUBLIC_URL: 'id.example.com', DATABASE_URL: 'mysql://db/orgway' };
    const results = await Promise.all(Object.entries(cases).map(async ([name, value]) => ({ name, ...(await run([MAIN], { [name]: value }, 20_000)) })));
    for (const r of results) {
      expect(r.code, r.name).toBe(78);
      expect(r.stderr).toMatch(new RegExp(`^orgway: Invalid configuration:\\n  ${r.name}: `));
      expect(r.stdout).toBe('');
    }
  });

  test('SIGTERM closes subscriptions with 1001, turns readiness off and exits 0 within the shutdown timeout', async () => {
    const SHUTDOWN_TIMEOUT_MS = 3_000;
    // An organization and a token, written straight to the database the server will use.
    const setup = await createContainer(loadConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' }), { db: t.db, startBackground: false });
    const { organization, apiToken } = await setup.organizations.bootstrap({ organizationName: 'Drain', adminEmail: 'drain@example.com' });
    await setup.close();

    const { child, url } = await startServer({ DATABASE_URL: t.url, ORGWAY_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await readyz(url)).status).toBe(200);

    const client = createClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${apiToken.token}` },
      retryAttempts: 0,
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => client.on('closed', (e) => resolve(e as { code: number; reason: string })));
    const events: unknown[] = [];
    let ended: unknown;
    const firstEvent = new Promise<void>((resolve) =>
      client.subscribe(
        { query: 'subscription($o: ID) { membershipChanged(organizationId: $o) { type } }', variables: { o: organization.id } },
        {
          next: (v) => {
            events.push(v);
            resolve();
          },
          error: (e) => (ended = e),
          complete: () => undefined,
        },
      ),
    );
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));
    // The subscription is live: a change made over HTTP reaches it.
    for (let i = 0; i < 20 && events.length === 0; i++) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken.token}` },
        body: JSON.stringify({ query: `mutation { stageUser(organizationId: "${organization.id}", email: "live${i}@example.com") { id } }` }),
      });
      expect(res.status).toBe(200);
      await Promise.race([firstEvent, new Promise((r) => setTimeout(r, 250))]);
    }
    expect(events.length).toBeGreaterThan(0);

    // A request in flight when the signal comes: it waits on a table lock held by the test.
    const blocker = new pg.Client({ connectionString: t.url });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table sessions in access exclusive mode');
    const inFlight = fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken.token}` },
      body: JSON.stringify({ query: '{ viewer { user { email } } }' }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    await waitFor(async () => (await blocker.query("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()")).rows[0].n >= 1, 20_000);

    const signalled = Date.now();
    child.proc.kill('SIGTERM');
    await child.waitForLog((l) => l.msg === 'draining', 5_000);
    // While draining: 503, or the listening socket is already closed.
    const probe = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 'refused' as const,
    );
    expect([503, 'refused']).toContain(probe);

    const close = await closed;
    expect(close.code).toBe(1001);
    expect(ended).toMatchObject({ code: 1001 });
    // The process waits for the request in flight, which then completes normally.
    await new Promise((r) => setTimeout(r, 300));
    expect(child.proc.exitCode).toBeNull();
    await blocker.query('rollback');
    await blocker.end();
    const finished = await inFlight;
    expect(finished.status).toBe(200);
    expect(finished.body.data.viewer.user.email).toBe('drain@example.com');
    const { code, signal } = await child.exited(SHUTDOWN_TIMEOUT_MS + 10_000);
    const took = Date.now() - signalled;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000);
    expect(child.logs().some((l) => l.msg === 'stopped')).toBe(true);
    // After exit nothing listens any more.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    await client.dispose();
  }, 60_000);

  test('a request that outlives ORGWAY_SHUTDOWN_TIMEOUT_MS does not keep the process alive', async () => {
    const SHUTDOWN_TIMEOUT_MS = 1_000;
    const setup = await createContainer(loadConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' }), { db: t.db, startBackground: false });
    const { apiToken } = await setup.organizations.bootstrap({ organizationName: 'Stuck', adminEmail: 'stuck@example.com' });
    await setup.close();
    const { child, url } = await startServer({ DATABASE_URL: t.url, ORGWAY_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    const blocker = new pg.Client({ connectionString: t.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table sessions in access exclusive mode');
      const stuck = fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken.token}` },
        body: JSON.stringify({ query: '{ viewer { user { email } } }' }),
      }).then(
        (r) => r.status,
        () => 'cut' as const,
      );
      await waitFor(async () => (await blocker.query("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()")).rows[0].n >= 1, 20_000);
      const signalled = Date.now();
      child.proc.kill('SIGTERM');
      const exit = await child.exited(SHUTDOWN_TIMEOUT_MS + 15_000);
      const took = Date.now() - signalled;
      // Exit code 1 tells the supervisor that requests were cut off; the time stays bounded
      // (timeout + 2 s for closing the database, + slack for a busy test machine).
      expect(exit).toEqual({ code: 1, signal: null });
      expect(took).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS);
      expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000 + 2_000);
      expect(await stuck).toBe('cut');
      const messages = child.logs().map((l) => l.msg);
      expect(messages).toContain('shutdown timeout reached; closing with requests in flight');
      expect(messages).toContain('shutdown did not finish in time; exiting with requests cut off');
    } finally {
      await blocker.query('rollback').catch(() => undefined);
      await blocker.end();
    }
  }, 60_000);
});
