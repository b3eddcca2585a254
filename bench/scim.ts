/**
 * SCIM benchmark: against the real gateway (container + Fastify, in its own
 * process) on a fresh PostgreSQL database:
 *
 * 1. seed an organization with 10,000 SCIM-provisioned users (bulk SQL: the starting
 *    state, not what is measured);
 * 2. sustained `POST /scim/v2/Users`: 10,000 new users over keep-alive connections from
 *    `concurrency` closed-loop workers → creates/s (target ≥ 500) and latency;
 * 3. `GET /Users?filter=userName eq "…"` for random users of the now 20,000, one at a time
 *    → p50/p99 (target p99 < 20 ms); also `externalId eq` and a concurrent run.
 *
 * Every response is checked (201 with the user / exactly one result), and the database is
 * checked afterwards (20,000 memberships, 10,000 JOINED events with actor scim:<tokenId>).
 * Options: `{ quick }` (1,000 + 1,000) ; env BENCH_SCIM_USERS, BENCH_SCIM_CONCURRENCY.
 */
import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startChild } from './lib/child.js';
import { createBenchDatabase } from './lib/database.js';
import { httpRequest, type HttpReply as Reply, percentile } from './lib/load.js';

const GATEWAY_SCRIPT = fileURLToPath(new URL('./gateway-process.js', import.meta.url));
const ORG = 'org_scim_bench';


const send = (agent: Agent, base: URL, method: string, path: string, token: string, body?: string): Promise<Reply> =>
  httpRequest(agent, base, {
    method,
    path,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    body: body === undefined ? undefined : Buffer.from(body),
  });

const userBody = (i: number, run: string) =>
  JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: `bench.${run}.${i}@example.com`,
    externalId: `ext-${run}-${i}`,
    name: { givenName: 'Bench', familyName: `User ${i}` },
    displayName: `Bench User ${i}`,
    emails: [{ primary: true, type: 'work', value: `bench.${run}.${i}@example.com` }],
    active: true,
  });

/** Seeds `n` SCIM users (users, memberships, scim_users) and a SCIM token; returns the secret and token id. */
const seed = async (url: string, n: number): Promise<{ token: string; tokenId: string }> => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('begin');
    await c.query(`insert into organizations (id, name, auto_access_enabled, auto_access_default_role, auto_access_domains, created_at, updated_at)
                   values ($1, 'SCIM bench', false, 'MEMBER', '[]', now(), now())`, [ORG]);
    await c.query(`insert into users (id, email, display_name, created_at, updated_at)
                   select 'usr_seed_' || g, 'seed.' || g || '@example.com', 'Seed ' || g, now(), now() from generate_series(1, $1::int) g`, [n]);
    await c.query(`insert into memberships (id, user_id, organization_id, role, status, source, created_at, updated_at)
                   select 'mem_seed_' || g, 'usr_seed_' || g, $2, 'MEMBER', 'STAGED', 'SCIM', now(), now() from generate_series(1, $1::int) g`, [n, ORG]);
    await c.query(`insert into scim_users (membership_id, organization_id, user_name, user_name_key, external_id, attributes, created_at, updated_at)
                   select 'mem_seed_' || g, $2, 'seed.' || g || '@example.com', 'seed.' || g || '@example.com', 'ext-seed-' || g,
                          '{"name": {"givenName": "Seed"}}', now(), now() from generate_series(1, $1::int) g`, [n, ORG]);
    const token = `ogwscim_${randomBytes(32).toString('base64url')}`;
    const tokenId = 'scimtok_bench';
    await c.query(`insert into scim_tokens (id, organization_id, name, token_hash, created_by_user_id, created_at, revoked_at)
                   values ($1, $2, 'bench', $3, null, now(), null)`, [tokenId, ORG, createHash('sha256').update(token).digest('hex')]);
    await c.query('commit');
    await c.query('analyze');
    return { token, tokenId };
  } finally {
    await c.end();
  }
};

const stats = (latencies: number[]) => {
  const sorted = Float64Array.from(latencies).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN };
};

export async function benchScim(options: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const quick = options.quick ?? false;
  const existing = Number(process.env.BENCH_SCIM_USERS ?? (quick ? 1000 : 10_000));
  const creates = existing;
  const concurrency = Number(process.env.BENCH_SCIM_CONCURRENCY ?? 16);
  const lookups = quick ? 500 : 2000;

  const db = await createBenchDatabase();
  const gateway = await startChild({ name: 'gateway', script: GATEWAY_SCRIPT, env: { BENCH_GATEWAY_DATABASE_URL: db.url }, execArgv: ['--expose-gc'] });
  try {
    const { token, tokenId } = await seed(db.url, existing);
    const base = new URL(gateway.url);
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const run = randomBytes(3).toString('hex');

    // Warm up: JIT, connection pool, plan cache (not measured; users created here are counted in the check below).
    const warm = 200;
    for (let i = 0; i < warm; i++) {
      const r = await send(agent, base, 'POST', '/scim/v2/Users', token, userBody(-1 - i, run));
      if (r.status !== 201) throw new Error(`warm-up create: ${r.status} ${r.body.slice(0, 300)}`);
    }

    // 2. Sustained creates.
    await gateway.call('resetSql');
    const createLatencies: number[] = [];
    let next = 0;
    let firstError: string | null = null;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          const i = next++;
          if (i >= creates) return;
          const start = performance.now();
          const r = await send(agent, base, 'POST', '/scim/v2/Users', token, userBody(i, run));
          createLatencies.push(performance.now() - start);
          if (r.status !== 201 || !r.body.includes(`"userName":"bench.${run}.${i}@example.com"`)) firstError ??= `${r.status} ${r.body.slice(0, 300)}`;
        }
      }),
    );
    const createSeconds = (performance.now() - t0) / 1000;
    const statements = await gateway.call<number>('sql');
    if (firstError) throw new Error(`create failed: ${firstError}`);

    // 3. Filter lookups at 2 × existing users, one at a time (latency), then concurrently (throughput).
    const total = existing + creates + warm;
    const pick = () => {
      const i = Math.floor(Math.random() * (existing + creates));
      return i < existing ? `seed.${i + 1}@example.com` : `bench.${run}.${i - existing}@example.com`;
    };
    const lookup = async (filter: string) => {
      const start = performance.now();
      const r = await send(agent, base, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(filter)}`, token);
      const ms = performance.now() - start;
      if (r.status !== 200 || !r.body.includes('"totalResults":1')) throw new Error(`lookup ${filter}: ${r.status} ${r.body.slice(0, 300)}`);
      return ms;
    };
    for (let k = 0; k < 200; k++) await lookup(`userName eq "${pick()}"`);
    const byUserName: number[] = [];
    for (let k = 0; k < lookups; k++) byUserName.push(await lookup(`userName eq "${pick().toUpperCase()}"`));
    const byExternalId: number[] = [];
    for (let k = 0; k < lookups / 4; k++) {
      const i = Math.floor(Math.random() * existing) + 1;
      byExternalId.push(await lookup(`externalId eq "ext-seed-${i}"`));
    }
    const concurrentLatencies: number[] = [];
    let k2 = 0;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (k2 < lookups) {
          k2 += 1;
          concurrentLatencies.push(await lookup(`userName eq "${pick()}"`));
        }
      }),
    );
    const concurrentRps = concurrentLatencies.length / ((performance.now() - t1) / 1000);
    agent.destroy();

    // The database agrees: every create is a membership with a JOINED event by this token.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const [{ members }] = (await c.query<{ members: string }>('select count(*) as members from memberships where organization_id = $1', [ORG])).rows as [{ members: string }];
    const [{ joined }] = (
      await c.query<{ joined: string }>("select count(*) as joined from membership_events where organization_id = $1 and type = 'JOINED' and actor = $2", [ORG, `scim:${tokenId}`])
    ).rows as [{ joined: string }];
    await c.end();
    if (Number(members) !== total) throw new Error(`expected ${total} memberships, found ${members}`);
    if (Number(joined) !== creates + warm) throw new Error(`expected ${creates + warm} JOINED events, found ${joined}`);

    const created = stats(createLatencies);
    const userName = stats(byUserName);
    const externalId = stats(byExternalId);
    const concurrent = stats(concurrentLatencies);
    return {
      'existing users': existing,
      'users created': creates,
      'create concurrency': concurrency,
      'creates/s': creates / createSeconds,
      'create p50 ms': created.p50,
      'create p99 ms': created.p99,
      'SQL statements per create': statements / creates,
      'users in organization': total,
      'userName eq lookups': byUserName.length,
      'userName eq p50 ms': userName.p50,
      'userName eq p99 ms': userName.p99,
      'userName eq max ms': userName.max,
      'externalId eq p99 ms': externalId.p99,
      'userName eq, 4 concurrent: req/s': concurrentRps,
      'userName eq, 4 concurrent: p99 ms': concurrent.p99,
      'target creates/s ≥ 500': creates / createSeconds >= 500,
      'target lookup p99 < 20 ms': userName.p99 < 20,
    };
  } finally {
    await gateway.stop();
    await db.drop();
  }
}
