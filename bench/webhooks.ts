/**
 * Webhooks benchmark (SPEC §10), against the real gateway in its own process
 * (ORGWAY_WEBHOOK_ALLOW_PRIVATE=true) on a fresh PostgreSQL database, with receivers in this
 * process that verify every message with the `standardwebhooks` library:
 *
 * 1. deliveries/s: a backlog of events already in the log, one endpoint (sequential by design:
 *    one event at a time, in order), then eight endpoints of eight organizations at once;
 * 2. lag under a SCIM burst: `POST /scim/v2/Users` from 16 closed-loop workers while one
 *    endpoint of that organization receives the JOINED events; sampled every 50 ms: events
 *    committed but not yet received (max), commit-to-receipt latency (p50/p99), and how long
 *    the endpoint needs to catch up after the burst.
 *
 * Every receiver checks: valid signature, ids strictly increasing, nothing missing at the end.
 * Options: `{ quick }`; env BENCH_WEBHOOK_EVENTS, BENCH_WEBHOOK_SCIM_USERS.
 */
import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import http, { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { startChild } from './lib/child.js';
import { createBenchDatabase } from './lib/database.js';
import { httpRequest, percentile } from './lib/load.js';

const GATEWAY_SCRIPT = fileURLToPath(new URL('./gateway-process.js', import.meta.url));
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

interface BenchReceiver {
  url: string;
  count: number;
  lastId: bigint;
  /** Receipt time (ms, performance.now) by event id. */
  receivedAt: Map<string, number>;
  errors: string[];
  close(): Promise<void>;
}

const startReceiver = async (): Promise<BenchReceiver> => {
  const wh = new Webhook(SECRET);
  const r: BenchReceiver = { url: '', count: 0, lastId: 0n, receivedAt: new Map(), errors: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      try {
        wh.verify(body, {
          'webhook-id': id,
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        });
      } catch (error) {
        if (r.errors.length < 5) r.errors.push(`signature of ${id}: ${(error as Error).message}`);
      }
      if (BigInt(id) <= r.lastId && r.errors.length < 5) r.errors.push(`event ${id} after ${r.lastId}`);
      r.lastId = BigInt(id);
      r.count += 1;
      r.receivedAt.set(id, performance.now());
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
};

const until = async (what: string, check: () => boolean, timeoutMs: number): Promise<void> => {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * Deliveries per second between the first and the last receipt: an endpoint inserted by SQL is
 * found by the gateway's poll (every 5 s), and that wait is not delivery.
 */
const deliveryRate = (receivers: readonly BenchReceiver[]): number => {
  const times = receivers.flatMap((r) => [...r.receivedAt.values()]);
  const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
  return (times.length - 1) / seconds;
};

export async function benchWebhooks(options: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const quick = options.quick ?? false;
  const backlog = Number(process.env.BENCH_WEBHOOK_EVENTS ?? (quick ? 1000 : 5000));
  const scimUsers = Number(process.env.BENCH_WEBHOOK_SCIM_USERS ?? (quick ? 500 : 3000));
  const db = await createBenchDatabase();
  const gateway = await startChild({
    name: 'gateway',
    script: GATEWAY_SCRIPT,
    env: { BENCH_GATEWAY_DATABASE_URL: db.url, ORGWAY_WEBHOOK_ALLOW_PRIVATE: 'true' },
    execArgv: ['--expose-gc'],
  });
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const receivers: BenchReceiver[] = [];
  try {
    const organization = async (id: string) =>
      c.query(`insert into organizations (id, name, auto_access_enabled, auto_access_default_role, auto_access_domains, created_at, updated_at)
               values ($1, $1, false, 'MEMBER', '[]', now(), now())`, [id]);
    const endpoint = async (orgId: string, url: string, cursor: string) =>
      c.query(`insert into webhook_endpoints (id, organization_id, url, event_types, secret, cursor, next_attempt_at, created_at, updated_at)
               values ($1, $2, $3, '["JOINED","ROLE_CHANGED","STATUS_CHANGED","TEAMS_CHANGED","LEFT"]', $4, $5, now(), now(), now())`,
        [`whep_${orgId}`, orgId, url, SECRET, cursor]);
    // A backlog as the log holds it (appended here in one statement: the starting state, not what is measured),
    // with ids as the event log gives them: this transaction's id << 20, plus the place in it.
    const appendBacklog = async (orgId: string, n: number) =>
      c.query(`insert into membership_events (id, type, organization_id, user_id, membership_id, actor, role, status, occurred_at)
               select (pg_current_xact_id()::text::bigint << 20) + g, 'JOINED', $1, 'usr_' || g, 'mem_' || g, 'cli', 'MEMBER', 'STAGED', now()
                 from generate_series(0, $2::int - 1) g`, [orgId, n]);

    // 1. Deliveries per second from a backlog: one endpoint, then eight at once.
    const one = await startReceiver();
    receivers.push(one);
    await organization('org_hooks_1');
    await appendBacklog('org_hooks_1', backlog);
    await endpoint('org_hooks_1', one.url, '0');
    await c.query(`select pg_notify('orgway_membership_events', '')`);
    await until('the single endpoint backlog', () => one.count >= backlog, 300_000);
    const singleRate = deliveryRate([one]);

    const eight = await Promise.all(Array.from({ length: 8 }, () => startReceiver()));
    receivers.push(...eight);
    for (let i = 0; i < 8; i++) {
      await organization(`org_hooks_8_${i}`);
      await appendBacklog(`org_hooks_8_${i}`, backlog);
    }
    for (let i = 0; i < 8; i++) await endpoint(`org_hooks_8_${i}`, eight[i]!.url, '0');
    await c.query(`select pg_notify('orgway_membership_events', '')`);
    await until('eight endpoint backlogs', () => eight.every((r) => r.count >= backlog), 600_000);
    const eightRate = deliveryRate(eight);

    // 2. Lag under a SCIM burst.
    const ORG = 'org_hooks_scim';
    await organization(ORG);
    const token = `ogwscim_${randomBytes(32).toString('base64url')}`;
    await c.query(`insert into scim_tokens (id, organization_id, name, token_hash, created_by_user_id, created_at, revoked_at)
                   values ('scimtok_hooks', $1, 'bench', $2, null, now(), null)`, [ORG, createHash('sha256').update(token).digest('hex')]);
    const [{ id: start }] = (await c.query<{ id: string }>('select coalesce(max(id), 0)::text as id from membership_events')).rows as [{ id: string }];
    const burst = await startReceiver();
    receivers.push(burst);
    await endpoint(ORG, burst.url, start);
    const base = new URL(gateway.url);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const committedAt = new Map<string, number>();
    let created = 0;
    let next = 0;
    let maxLag = 0;
    let sampling = true;
    // Lag = events of the organization committed but not yet received, sampled from the log.
    const sampler = (async () => {
      const s = new pg.Client({ connectionString: db.url });
      await s.connect();
      const committed: bigint[] = [];
      let seen = start;
      let received = 0;
      while (sampling) {
        // Only what was committed since the last sample: the sampler must not load the machine.
        const rows = (await s.query<{ id: string }>('select id::text as id from membership_events where organization_id = $1 and id > $2 order by id', [ORG, seen])).rows;
        const now = performance.now();
        for (const r of rows) {
          committedAt.set(r.id, now);
          committed.push(BigInt(r.id));
          seen = r.id;
        }
        while (received < committed.length && committed[received]! <= burst.lastId) received += 1;
        maxLag = Math.max(maxLag, committed.length - received);
        await new Promise((r) => setTimeout(r, 50));
      }
      await s.end();
    })();
    const run = randomBytes(3).toString('hex');
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (;;) {
          const i = next++;
          if (i >= scimUsers) return;
          const body = JSON.stringify({
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
            userName: `hook.${run}.${i}@example.com`,
            emails: [{ primary: true, value: `hook.${run}.${i}@example.com` }],
            active: true,
          });
          const r = await httpRequest(agent, base, {
            method: 'POST',
            path: '/scim/v2/Users',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
            body: Buffer.from(body),
          });
          if (r.status !== 201) throw new Error(`SCIM create: ${r.status} ${r.body.slice(0, 200)}`);
          created += 1;
        }
      }),
    );
    const burstEnd = performance.now();
    const burstSeconds = (burstEnd - t0) / 1000;
    await until('the burst delivered', () => burst.count >= scimUsers, 300_000);
    const caughtUpMs = performance.now() - burstEnd;
    sampling = false;
    await sampler;
    agent.destroy();
    const latencies = [...committedAt].flatMap(([id, at]) => {
      const got = burst.receivedAt.get(id);
      return got === undefined ? [] : [Math.max(0, got - at)];
    });
    const sorted = Float64Array.from(latencies).sort();
    const errors = receivers.flatMap((r) => r.errors);
    if (errors.length) throw new Error(`receivers saw: ${errors.join('; ')}`);
    const [{ n }] = (await c.query<{ n: string }>("select count(*) as n from webhook_deliveries where status <> 'SUCCEEDED'")).rows as [{ n: string }];
    return {
      'backlog events per endpoint': backlog,
      '1 endpoint: deliveries/s': singleRate,
      '8 endpoints at once: deliveries/s (all)': eightRate,
      'SCIM users created': created,
      'SCIM creates/s during the burst': created / burstSeconds,
      'max lag during the burst (events)': maxLag,
      'commit-to-receipt p50 ms (sampled every 50 ms)': percentile(sorted, 50),
      'commit-to-receipt p99 ms (sampled every 50 ms)': percentile(sorted, 99),
      'caught up after the burst, ms': caughtUpMs,
      'failed attempts': Number(n),
    };
  } finally {
    for (const r of receivers) await r.close();
    await c.end();
    await gateway.stop();
    await db.drop();
  }
}
