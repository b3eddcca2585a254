/**
 * `npm run bench` (full sizes) / `npm run bench:quick` (small sizes).
 *
 * 1. A fresh PostgreSQL database, seeded through the gateway's own use cases (bench/lib/seed.ts).
 * 2. The gateway (container + buildServer, bench/gateway-process.ts) and the floor (bare
 *    node:http + pg, bench/floor-process.ts) each run in a child process; the load
 *    generator (bench/lib/load.ts) runs here, in this process.
 * 3. Viewer query and switchOrganization: throughput at a fixed concurrency, p50/p99,
 *    SQL statements per request, gateway beside floor in the same run, in alternating order.
 * 4. Fan-out: idle graphql-ws subscribers on a fresh gateway process, one membership
 *    change committed from here (a second instance on the same database, so the event
 *    travels by LISTEN/NOTIFY), commit-to-receipt latency and memory per subscriber.
 * 5. The figures table, on the terminal and in bench/README.md.
 *
 * Every loop is bounded in count and time; all traffic goes to 127.0.0.1.
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import { type Container, createContainer } from '../src/app/container.js';
import { loadConfig } from '../src/config/config.js';
import { type Database, openDatabase } from '../src/persistence/orm.js';
import { type ServerChild, startChild } from './lib/child.js';
import { type BenchDatabase, createBenchDatabase, serverVersion } from './lib/database.js';
import { cpuDelta, postgresCpu } from './lib/postgres-cpu.js';
import { nowMs, openSubscribers, type SubscriberPool } from './lib/fanout.js';
import { type LoadRequest, type LoadResult, percentile, runLoad } from './lib/load.js';
import { type Census, censusGrowth } from './lib/heap-census.js';
import { type CpuProfile, formatProfile, summariseProfile } from './lib/profile.js';
import { fmt, infoRow, markdownTable, maxRow, median, type Row, ratioRow, textTable, writeFiguresBlock } from './lib/report.js';
import { seedWorld, type World } from './lib/seed.js';

// ---------------------------------------------------------------- options

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    concurrency: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    subscribers: { type: 'string' },
    handshakes: { type: 'string' },
    'fanout-rounds': { type: 'string' },
    'source-addresses': { type: 'string' },
    profile: { type: 'boolean', default: false },
    'show-sql': { type: 'boolean', default: false },
    'heap-census': { type: 'boolean', default: false },
    write: { type: 'boolean' },
    help: { type: 'boolean', default: false },
  },
  allowPositionals: false,
  allowNegative: true,
});

if (args.help) {
  process.stdout.write(`npm run bench [-- options]   (npm run bench:quick = --quick)
  --quick                small sizes (1,000 subscribers, short phases, one round); does not write the README
  --only viewer,switch,members,fanout,saml,scim,eventlog,webhooks   run only these phases
  --concurrency N        load workers / keep-alive sockets (default 16)
  --duration S           measured seconds per load phase (default 8; quick 3)
  --warmup S             warm-up seconds per load phase (default 2; quick 1)
  --rounds N             gateway/floor rounds, alternating order; medians reported (default 3; quick 1)
  --subscribers N        idle graphql-ws subscribers (default 10000; quick 1000)
  --handshakes N         concurrent WebSocket handshakes while connecting (default 100)
  --fanout-rounds N      membership changes delivered to the subscribers (default 3; quick 2)
  --source-addresses N   spread client sockets over 127.0.0.1..127.0.0.N (default: 1 per 20,000 sockets)
  --profile              after the measured rounds, one more gateway pass per phase under the CPU profiler
                         (not counted; summary printed, profile written to bench/profiles/)
  --heap-census          fan-out: list what the idle subscribers' memory is made of (heap snapshots; slow)
  --show-sql             print the SQL statements of one gateway request per phase
  --write / --no-write   write the figures into bench/README.md (default: yes unless --quick)
`);
  process.exit(0);
}

const int = (v: string | undefined, fallback: number, name: string, min = 1, max = 1_000_000): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number between ${min} and ${max}`);
  return n;
};
const quick = args.quick === true;
/** The bench database, for PostgreSQL's CPU per request (set once it exists). */
let benchDatabaseName: string | undefined;

const settings = {
  concurrency: int(args.concurrency, 16, 'concurrency', 1, 256),
  durationMs: int(args.duration, quick ? 3 : 8, 'duration', 1, 600) * 1000,
  warmupMs: int(args.warmup, quick ? 1 : 2, 'warmup', 0, 120) * 1000,
  rounds: int(args.rounds, quick ? 1 : 3, 'rounds', 1, 10),
  subscribers: int(args.subscribers, quick ? 1000 : 10_000, 'subscribers', 1, 60_000),
  handshakes: int(args.handshakes, 100, 'handshakes', 1, 2000),
  fanoutRounds: int(args['fanout-rounds'], quick ? 2 : 3, 'fanout-rounds', 1, 10),
  sourceAddresses: args['source-addresses'] === undefined ? undefined : int(args['source-addresses'], 1, 'source-addresses', 1, 250),
  profile: args.profile === true,
  showSql: args['show-sql'] === true,
  heapCensus: args['heap-census'] === true,
  write: args.write ?? !quick,
};
const ALL_PHASES = ['viewer', 'switch', 'members', 'fanout', 'saml', 'scim', 'eventlog', 'webhooks'];
const PHASES = new Set((args.only ?? ALL_PHASES.join(',')).split(',').map((s) => s.trim()));
for (const p of PHASES) if (!ALL_PHASES.includes(p)) throw new Error(`--only: unknown phase "${p}" (${ALL_PHASES.join(', ')})`);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = `${ROOT}bench/README.md`;
const PROFILES = `${ROOT}bench/profiles`;
const GATEWAY_SCRIPT = fileURLToPath(new URL('./gateway-process.js', import.meta.url));
const FLOOR_SCRIPT = fileURLToPath(new URL('./floor-process.js', import.meta.url));
/** The whole run is bounded: past this, everything is stopped. */
const RUN_DEADLINE_MS = 30 * 60_000;

// ---------------------------------------------------------------- file descriptors

/** The soft and hard limits on open files of this process (Linux), or null elsewhere. */
const openFileLimits = (): { soft: number; hard: number } | null => {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = (line?.match(/(\d+|unlimited)\s+(\d+|unlimited)/)?.slice(1) ?? []).map((x) => (x === 'unlimited' ? Infinity : Number(x)));
    return soft !== undefined && hard !== undefined ? { soft, hard } : null;
  } catch {
    return null;
  }
};

// Each fan-out subscriber is one socket here and one in the gateway process (children
// inherit our limit). Raise the soft limit when the hard one allows, by re-executing
// through the shell's `ulimit` (Node cannot call setrlimit itself).
if (PHASES.has('fanout')) {
  const needed = settings.subscribers + 2048;
  const limits = openFileLimits();
  if (limits && limits.soft < needed) {
    if (limits.hard >= needed && !process.env.ORGWAY_BENCH_REEXEC) {
      const target = Math.min(limits.hard, Math.max(needed, 65_536));
      process.stdout.write(`Raising the open-file limit from ${limits.soft} to ${target} for ${settings.subscribers} subscribers.\n`);
      const r = spawnSync('/bin/sh', ['-c', `ulimit -n ${target} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
        stdio: 'inherit',
        env: { ...process.env, ORGWAY_BENCH_REEXEC: '1' },
      });
      process.exit(r.status ?? 1);
    }
    throw new Error(
      `${settings.subscribers} subscribers need about ${needed} open files, but the limit is ${limits.soft} (hard ${limits.hard}). ` +
        `Raise it (ulimit -n ${needed}) or pass --subscribers ${Math.max(1, limits.soft - 2048)}.`,
    );
  }
}

// ---------------------------------------------------------------- queries

const VIEWER_QUERY = `query Viewer {
  viewer { organizations(first: 50) { edges {
    node { id name teams { id } }
    membership { role status permissions teams { id } }
  } } }
}`;

const SWITCH_MUTATION = `mutation SwitchOrganization($o: ID!) {
  switchOrganization(organizationId: $o) {
    organization { id name }
    membership { role status permissions }
    accessToken { token expiresAt organizationId }
  }
}`;

const MEMBERS_QUERY = `query OrganizationMembers($o: ID!) {
  organization(id: $o) { id name members(first: 50) { edges { node { role status user { id email displayName } } } } }
}`;

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const gatewayOk = (status: number, body: string) =>
  status === 200 && !body.includes('"errors"') ? null : `HTTP ${status}: ${body.slice(0, 300)}`;
const floorOk = (status: number, body: string) => (status === 200 ? null : `HTTP ${status}: ${body.slice(0, 300)}`);

const post = async (url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: any }> => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
};

// ---------------------------------------------------------------- the run

interface LoadPair {
  gateway: LoadResult[];
  floor: LoadResult[];
  gatewaySql: number;
  floorSql: number;
  gatewaySqlUnderLoad: number[];
  floorSqlUnderLoad: number[];
  gatewayCpuMs: number[];
  floorCpuMs: number[];
  gatewayPgCpuMs: number[];
  floorPgCpuMs: number[];
}

interface FanoutRound {
  p50: number;
  p99: number;
  max: number;
  delivered: number;
  commitMs: number;
  firstMs: number;
}

interface FanoutResult {
  subscribers: number;
  connectSeconds: number;
  sourceAddresses: number;
  heapPerSubscriber: number;
  rssPerSubscriber: number;
  externalPerSubscriber: number;
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  rounds: FanoutRound[];
  /** The uncounted change right after the memory reading. */
  settling: FanoutRound | undefined;
  problems: string[];
  problemCount: number;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until `check` holds. */
const waitFor = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100): Promise<void> => {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
};

const startGatewayProcess = (url: string) =>
  startChild({
    name: 'gateway',
    script: GATEWAY_SCRIPT,
    // As `orgway serve` runs by default (src/main.ts): production mode.
    env: { BENCH_GATEWAY_DATABASE_URL: url, BENCH_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', NODE_ENV: process.env.NODE_ENV ?? 'production' },
    execArgv: ['--expose-gc'],
  });

const startFloorProcess = (url: string) =>
  startChild({ name: 'floor', script: FLOOR_SCRIPT, env: { BENCH_GATEWAY_DATABASE_URL: url, NODE_ENV: process.env.NODE_ENV ?? 'production' }, execArgv: [] });

/** Statements one request costs (the minimum of a few tries, so a background poll does not count). */
const statementsPerRequest = async (server: ServerChild, send: () => Promise<void>, label: string): Promise<number> => {
  if (settings.showSql && server.name === 'gateway') {
    await server.call('captureSql');
    await send();
    const sql = await server.call<string[]>('capturedSql');
    log(`${label}: the gateway's statements for one request:\n${sql.map((q, i) => `  ${i + 1}. ${q}`).join('\n')}`);
  }
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    await server.call('resetSql');
    await send();
    best = Math.min(best, await server.call<number>('sql'));
  }
  return best;
};

const measure = async (
  label: string,
  server: ServerChild,
  next: (worker: number, seq: number) => LoadRequest,
  check: (status: number, body: string) => string | null,
  profileFile?: string,
): Promise<{ result: LoadResult; sqlPerRequest: number; cpuMsPerRequest: number; pgCpuMsPerRequest: number }> => {
  await server.call('resetSql');
  const cpuBefore = await server.call<NodeJS.CpuUsage>('cpu');
  const pgBefore = benchDatabaseName ? postgresCpu(benchDatabaseName) : null;
  if (profileFile) await server.call('profileStart');
  const result = await runLoad({
    baseUrl: server.url,
    concurrency: settings.concurrency,
    warmupMs: settings.warmupMs,
    durationMs: settings.durationMs,
    maxRequests: 2_000_000,
    next,
    check,
  });
  if (profileFile) {
    await server.call('profileStop', profileFile);
    const summary = summariseProfile(JSON.parse(await readFile(profileFile, 'utf8')) as CpuProfile);
    log(formatProfile(`  profile ${label} (${profileFile.replace(ROOT, '')})`, summary));
  }
  const sql = await server.call<number>('sql');
  const cpuAfter = await server.call<NodeJS.CpuUsage>('cpu');
  const pgSeconds = cpuDelta(pgBefore, benchDatabaseName ? postgresCpu(benchDatabaseName) : null);
  const pgCpuMsPerRequest = pgSeconds !== null && result.totalRequests ? (pgSeconds * 1000) / result.totalRequests : Number.NaN;
  const sqlPerRequest = result.totalRequests ? sql / result.totalRequests : Number.NaN;
  // Server process CPU (user + system) per request: far less sensitive to other load on the machine than req/s.
  const cpuMsPerRequest = result.totalRequests
    ? (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / 1000 / result.totalRequests
    : Number.NaN;
  log(
    `  ${label.padEnd(22)} ${fmt(result.rps, 0).padStart(7)} req/s  p50 ${fmt(result.p50, 2)} ms  p99 ${fmt(result.p99, 2)} ms  ` +
      `(${result.requests} requests in ${fmt(result.seconds, 1)} s, ${fmt(sqlPerRequest, 2)} statements, ${fmt(cpuMsPerRequest, 2)} server + ${fmt(pgCpuMsPerRequest, 2)} PostgreSQL CPU ms/request)` +
      (result.errors ? `  ${result.errors} ERRORS, first: ${result.firstError}` : ''),
  );
  if (result.errors) throw new Error(`${label}: ${result.errors} failed requests; first: ${result.firstError}`);
  return { result, sqlPerRequest, cpuMsPerRequest, pgCpuMsPerRequest };
};

const runPair = async (
  name: 'viewer' | 'switch' | 'members',
  gateway: ServerChild,
  floor: ServerChild,
  gatewayNext: (w: number, s: number) => LoadRequest,
  floorNext: (w: number, s: number) => LoadRequest,
  gatewaySql: number,
  floorSql: number,
): Promise<LoadPair> => {
  const pair: LoadPair = { gateway: [], floor: [], gatewaySql, floorSql, gatewaySqlUnderLoad: [], floorSqlUnderLoad: [], gatewayCpuMs: [], floorCpuMs: [], gatewayPgCpuMs: [], floorPgCpuMs: [] };
  if (settings.profile) await mkdir(PROFILES, { recursive: true });
  for (let round = 0; round < settings.rounds; round++) {
    log(`${name}: round ${round + 1}/${settings.rounds}`);
    const order = round % 2 === 0 ? (['floor', 'gateway'] as const) : (['gateway', 'floor'] as const);
    for (const which of order) {
      if (which === 'gateway') {
        const m = await measure(`${name} gateway`, gateway, gatewayNext, gatewayOk);
        pair.gateway.push(m.result);
        pair.gatewaySqlUnderLoad.push(m.sqlPerRequest);
        pair.gatewayCpuMs.push(m.cpuMsPerRequest);
        pair.gatewayPgCpuMs.push(m.pgCpuMsPerRequest);
      } else {
        const m = await measure(`${name} floor`, floor, floorNext, floorOk);
        pair.floor.push(m.result);
        pair.floorSqlUnderLoad.push(m.sqlPerRequest);
        pair.floorCpuMs.push(m.cpuMsPerRequest);
        pair.floorPgCpuMs.push(m.pgCpuMsPerRequest);
      }
    }
  }
  // Profiling slows the gateway down, so it gets a pass of its own that is not counted.
  if (settings.profile) await measure(`${name} gateway (profiled; not counted)`, gateway, gatewayNext, gatewayOk, `${PROFILES}/${name}-gateway.cpuprofile`);
  return pair;
};

/** The gateway and the floor must give the same answer before their speed is compared. */
const checkViewerAnswers = async (gateway: ServerChild, floor: ServerChild, world: World) => {
  const g = await post(`${gateway.url}/graphql`, { query: VIEWER_QUERY }, auth(world.viewer.token));
  const f = await post(`${floor.url}/viewer`, { first: 50 }, auth(world.viewer.token));
  if (g.status !== 200 || g.json.errors) throw new Error(`gateway Viewer query failed: ${JSON.stringify(g.json).slice(0, 500)}`);
  const edges = g.json.data.viewer.organizations.edges as unknown[];
  if (edges.length !== world.organizationIds.length) throw new Error(`gateway returned ${edges.length} organizations, expected ${world.organizationIds.length}`);
  if (!isDeepStrictEqual(g.json, f.json))
    throw new Error(`the floor's Viewer answer differs from the gateway's:\n${JSON.stringify(g.json).slice(0, 400)}\n${JSON.stringify(f.json).slice(0, 400)}`);
  log(`viewer: gateway and floor give the same answer (${edges.length} organizations, ${JSON.stringify(g.json).length} bytes)`);
};

const checkMembersAnswers = async (gateway: ServerChild, floor: ServerChild, world: World) => {
  const o = world.organizationIds[0]!;
  const g = await post(`${gateway.url}/graphql`, { query: MEMBERS_QUERY, variables: { o } }, auth(world.viewer.token));
  const f = await post(`${floor.url}/members`, { organizationId: o, first: 50 }, auth(world.viewer.token));
  if (g.status !== 200 || g.json.errors) throw new Error(`gateway members query failed: ${JSON.stringify(g.json).slice(0, 500)}`);
  const edges = g.json.data.organization.members.edges as unknown[];
  if (edges.length !== 50) throw new Error(`gateway returned ${edges.length} members, expected 50`);
  if (!isDeepStrictEqual(g.json, f.json))
    throw new Error(`the floor's members answer differs from the gateway's:\n${JSON.stringify(g.json).slice(0, 400)}\n${JSON.stringify(f.json).slice(0, 400)}`);
  log(`members: gateway and floor give the same answer (${edges.length} members, ${JSON.stringify(g.json).length} bytes)`);
};

const checkSwitchAnswers = async (gateway: ServerChild, floor: ServerChild, world: World) => {
  const s = world.switchers[0]!;
  const jwks = createLocalJWKSet((await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
  const answers = [];
  for (const [url, body] of [
    [`${gateway.url}/graphql`, { query: SWITCH_MUTATION, variables: { o: s.organizationIds[1] } }],
    [`${floor.url}/switch`, { organizationId: s.organizationIds[1] }],
  ] as const) {
    const r = await post(url, body, auth(s.token));
    if (r.status !== 200 || r.json.errors) throw new Error(`switchOrganization failed at ${url}: ${JSON.stringify(r.json).slice(0, 500)}`);
    const token = r.json.data.switchOrganization.accessToken.token as string;
    await jwtVerify(token, jwks, { issuer: 'http://127.0.0.1:4000', audience: 'orgway' });
    const { iat: _iat, exp: _exp, jti: _jti, ...claims } = decodeJwt(token);
    r.json.data.switchOrganization.accessToken.token = claims;
    r.json.data.switchOrganization.accessToken.expiresAt = 'masked';
    answers.push(r.json);
  }
  if (!isDeepStrictEqual(answers[0], answers[1]))
    throw new Error(`the floor's switchOrganization answer differs from the gateway's:\n${JSON.stringify(answers[0])}\n${JSON.stringify(answers[1])}`);
  log('switchOrganization: gateway and floor give the same answer (tokens verified against the JWKS, same claims)');
};

const runFanout = async (db: BenchDatabase, container: Container, world: World): Promise<FanoutResult> => {
  const { organizationId, targetUserId } = world.fanout;
  const sourceCount = settings.sourceAddresses ?? Math.max(1, Math.ceil(settings.subscribers / 20_000));
  const sourceAddresses = Array.from({ length: sourceCount }, (_, i) => `127.0.0.${i + 1}`);
  const gateway = await startGatewayProcess(db.url);
  let pool: SubscriberPool | undefined;
  try {
    const wsUrl = `${gateway.url.replace('http', 'ws')}/graphql`;
    const open = (count: number, rounds: number) =>
      openSubscribers({
        wsUrl,
        token: world.viewer.token,
        organizationId,
        count,
        handshakes: settings.handshakes,
        rounds,
        sourceAddresses,
        expect: { type: 'ROLE_CHANGED', userId: targetUserId },
      });
    const subscribers = () => gateway.call<number>('subscribers');

    // Warm-up: the code paths of connecting, subscribing and delivering run once before the
    // baseline, so the measured changes are not the process's first event ever (JIT-cold
    // code). The target becomes ADMIN here; the measured changes alternate VIEWER / MEMBER.
    const warm = await open(Math.min(100, settings.subscribers), 1);
    await waitFor('warm-up subscriptions', async () => (await subscribers()) >= warm.count, 30_000);
    // A subscription without `after` is live from the position it reads after registering;
    // give that read time, as before the measured changes.
    await sleep(1000);
    await container.memberships.setMembershipRole(world.owner, organizationId, targetUserId, 'ADMIN');
    await waitFor('the warm-up change to reach the warm-up subscribers', () => warm.received(0) >= warm.count, 30_000, 10).catch((e: Error) => {
      throw new Error(`${e.message} (${warm.received(0)}/${warm.count}; ${warm.problems.join('; ')})`);
    });
    await warm.close();
    await waitFor('warm-up subscriptions to end', async () => (await subscribers()) === 0, 30_000);
    await sleep(500);

    const before = await gateway.call<NodeJS.MemoryUsage>('memory');
    const censusBefore = settings.heapCensus ? await gateway.call<Census>('heapCensus', undefined, 600_000) : undefined;
    log(`fanout: connecting ${settings.subscribers} subscribers (${settings.handshakes} handshakes at a time, from ${sourceAddresses.join(', ')})`);
    const t0 = Date.now();
    // Change 0 settles (not counted, shown); then the measured ones; with --profile one more.
    const totalRounds = 1 + settings.fanoutRounds + (settings.profile ? 1 : 0);
    pool = await open(settings.subscribers, totalRounds);
    await waitFor('every subscription to be registered', async () => (await subscribers()) >= settings.subscribers, 180_000, 250);
    const connectSeconds = (Date.now() - t0) / 1000;
    log(`fanout: ${settings.subscribers} subscribers connected and subscribed in ${fmt(connectSeconds, 1)} s`);
    await sleep(1000);
    const after = await gateway.call<NodeJS.MemoryUsage>('memory');
    const n = settings.subscribers;
    if (censusBefore) log(censusGrowth(censusBefore, await gateway.call<Census>('heapCensus', undefined, 600_000), n));

    const rounds: FanoutResult['rounds'] = [];
    let settling: FanoutResult['settling'];
    for (let r = 0; r < totalRounds; r++) {
      // The target is ADMIN after the warm-up; every change below changes the role.
      const role = r === 0 ? 'MEMBER' : r % 2 === 1 ? 'VIEWER' : 'MEMBER';
      // Change 0: reading memory made the gateway collect garbage four times in a row,
      // after which V8 runs with a small young generation; the first burst of 10,000 sends
      // then ran into scavenges and a major collection (--trace-gc: p99 335–614 ms for
      // that change, 240–330 ms for the next ones). It is delivered and shown, not counted.
      const settles = r === 0;
      // With --profile, one more change under the profiler, not counted.
      const profiled = r === 1 + settings.fanoutRounds;
      if (profiled) {
        await mkdir(PROFILES, { recursive: true });
        await gateway.call('profileStart');
      }
      // The subscribers' side is this process, which still holds the earlier phases' load
      // generator: its own garbage is collected now, not while it timestamps arrivals.
      (globalThis as { gc?: () => void }).gc?.();
      await sleep(200);
      const before = nowMs();
      await container.memberships.setMembershipRole(world.owner, organizationId, targetUserId, role);
      const commit = nowMs();
      const p = pool;
      await waitFor(`round ${r + 1} to reach every subscriber`, () => p.received(r) >= n, 60_000, 10).catch((e: Error) => log(`fanout: ${e.message}`));
      const latencies = Array.from(pool.receipts[r]!, (t) => t - commit)
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      const round = {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies.at(-1) ?? Number.NaN,
        delivered: latencies.length,
        commitMs: commit - before,
        firstMs: latencies[0] ?? Number.NaN,
      };
      if (profiled) {
        const file = `${PROFILES}/fanout-gateway.cpuprofile`;
        await gateway.call('profileStop', file);
        log(formatProfile(`  profile of one fan-out to ${n} subscribers (${file.replace(ROOT, '')}; not counted)`, summariseProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile)));
      } else if (settles) settling = round;
      else rounds.push(round);
      log(
        `fanout: ${settles ? 'settling change (after the memory reading; not counted)' : `change ${r}`}${profiled ? ' (profiled; not counted)' : ''} (role → ${role}, commit took ${fmt(round.commitMs, 1)} ms): delivered to ${round.delivered}/${n}; ` +
          `first ${fmt(round.firstMs, 1)} ms, p50 ${fmt(round.p50, 1)} ms, p99 ${fmt(round.p99, 1)} ms, last ${fmt(round.max, 1)} ms after commit`,
      );
      await sleep(500);
    }
    const result: FanoutResult = {
      subscribers: n,
      connectSeconds,
      sourceAddresses: sourceCount,
      heapPerSubscriber: (after.heapUsed - before.heapUsed) / n / 1024,
      rssPerSubscriber: (after.rss - before.rss) / n / 1024,
      externalPerSubscriber: (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / n / 1024,
      before,
      after,
      rounds,
      settling,
      problems: [...pool.problems],
      problemCount: pool.problemCount(),
    };
    log(
      `fanout: memory per idle subscriber: heapUsed ${fmt(result.heapPerSubscriber, 2)} KiB, RSS ${fmt(result.rssPerSubscriber, 2)} KiB ` +
        `(heapUsed ${fmt(before.heapUsed / 2 ** 20)} → ${fmt(after.heapUsed / 2 ** 20)} MiB, RSS ${fmt(before.rss / 2 ** 20)} → ${fmt(after.rss / 2 ** 20)} MiB)`,
    );
    if (result.problemCount) log(`fanout: ${result.problemCount} problems, e.g. ${result.problems.join('; ')}`);
    return result;
  } finally {
    await pool?.close().catch(() => undefined);
    await gateway.stop();
  }
};

// ---------------------------------------------------------------- SAML and SCIM (other files)

type Figures = Record<string, number | string | boolean | null>;
const figure = (v: Figures[string]): string => (typeof v === 'number' ? fmt(v, Number.isInteger(v) ? 0 : 2) : String(v));

/**
 * bench/saml.ts and bench/scim.ts are written separately; each exports
 * `benchSaml()` / `benchScim()` resolving to a record of figures, and is called with
 * one options argument `{ quick }` it may ignore. A missing file is skipped.
 */
const OPTIONAL = { saml: ['saml', 'benchSaml'], scim: ['scim', 'benchScim'], eventlog: ['event-log', 'benchEventLog'], webhooks: ['webhooks', 'benchWebhooks'] } as const;
const runOptional = async (phase: keyof typeof OPTIONAL): Promise<{ figures: Figures | null; note: string }> => {
  const [file, exported] = OPTIONAL[phase];
  const specifier = `./${file}.js`; // not a literal: the file may not exist yet
  const mod = (await import(specifier).catch(() => null)) as Record<string, unknown> | null;
  const fn = mod?.[exported];
  if (typeof fn !== 'function') return { figures: null, note: mod ? `bench/${file}.ts has no ${exported}() export; skipped` : `bench/${file}.ts not present; skipped` };
  log(`${phase}: running bench/${file}.ts`);
  const limitMs = 10 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${limitMs / 60_000} minutes`)), limitMs);
  });
  try {
    const figures = (await Promise.race([(fn as (o: { quick: boolean }) => Promise<Figures>)({ quick }), timeout])) ?? {};
    for (const [k, v] of Object.entries(figures)) log(`  ${phase} ${k}: ${figure(v)}`);
    return { figures, note: '' };
  } catch (error) {
    log(`${phase}: failed: ${(error as Error).stack ?? String(error)}`);
    return { figures: null, note: `bench/${phase}.ts failed: ${(error as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
};

const figuresTable = (title: string, f: Figures): string =>
  [`| ${title} | value |`, '| --- | ---: |', ...Object.entries(f).map(([k, v]) => `| ${k} | ${figure(v)} |`)].join('\n');

// ---------------------------------------------------------------- figures

const loadRows = (title: string, p: LoadPair, min: number): Row[] => {
  const g = { rps: median(p.gateway.map((r) => r.rps)), p50: median(p.gateway.map((r) => r.p50)), p99: median(p.gateway.map((r) => r.p99)) };
  const f = { rps: median(p.floor.map((r) => r.rps)), p50: median(p.floor.map((r) => r.p50)), p99: median(p.floor.map((r) => r.p99)) };
  return [
    ratioRow(`${title}: throughput`, g.rps, f.rps, min, 'req/s'),
    infoRow(`${title}: latency p50`, `${fmt(g.p50, 2)} ms`, `${fmt(f.p50, 2)} ms`, `${fmt(g.p50 / f.p50, 2)}×`),
    infoRow(`${title}: latency p99`, `${fmt(g.p99, 2)} ms`, `${fmt(f.p99, 2)} ms`, `${fmt(g.p99 / f.p99, 2)}×`),
    infoRow(
      `${title}: server CPU/request`,
      `${fmt(median(p.gatewayCpuMs), 2)} ms`,
      `${fmt(median(p.floorCpuMs), 2)} ms`,
      `${fmt(median(p.gatewayCpuMs) / median(p.floorCpuMs), 2)}×`,
    ),
    infoRow(
      `${title}: PostgreSQL CPU/request`,
      `${fmt(median(p.gatewayPgCpuMs), 2)} ms`,
      `${fmt(median(p.floorPgCpuMs), 2)} ms`,
      `${fmt(median(p.gatewayPgCpuMs) / median(p.floorPgCpuMs), 2)}×`,
    ),
    infoRow(`${title}: SQL statements/request`, `${p.gatewaySql} (${fmt(median(p.gatewaySqlUnderLoad), 2)} under load)`, `${p.floorSql} (${fmt(median(p.floorSqlUnderLoad), 2)} under load)`),
  ];
};

const fanoutRows = (f: FanoutResult): Row[] => {
  const worstP99 = Math.max(...f.rounds.map((r) => r.p99));
  const delivered = Math.min(...f.rounds.map((r) => r.delivered));
  const rows = [
    maxRow(`Fan-out to ${f.subscribers.toLocaleString('en-US')} subscribers: delivery p99 (worst of ${f.rounds.length} changes)`, worstP99, 500, 'ms'),
    infoRow('Fan-out: delivery p50 / last (per change)', f.rounds.map((r) => `${fmt(r.p50, 0)} / ${fmt(r.max, 0)} ms`).join(', ')),
    ...(f.settling
      ? [infoRow('Fan-out: settling change after the memory reading (not counted): p99 / last', `${fmt(f.settling.p99, 0)} / ${fmt(f.settling.max, 0)} ms`)]
      : []),
    maxRow('Fan-out: memory per idle subscriber, heapUsed', f.heapPerSubscriber, 20, 'KiB', 2),
    maxRow('Fan-out: memory per idle subscriber, RSS', f.rssPerSubscriber, 20, 'KiB', 2),
  ];
  if (delivered < f.subscribers)
    rows.push({ ...infoRow('Fan-out: delivered', `${delivered}/${f.subscribers}`), verdict: 'missed', target: 'every subscriber', missedBy: `only ${delivered} of ${f.subscribers} subscribers received every change` });
  return rows;
};

const machine = async () => {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return {
    nproc: availableParallelism(),
    cpu: cpu.replace(/\s+/g, ' ').trim(),
    memoryGiB: totalmem() / 2 ** 30,
    node: process.version,
    postgres: await serverVersion().catch(() => 'unknown'),
    loadStart: loadavg(),
  };
};

// ---------------------------------------------------------------- main

const main = async () => {
  const info = await machine();
  log(
    `orgway benchmark — ${new Date().toISOString()} — ${info.nproc} CPUs (${info.cpu}), ${fmt(info.memoryGiB, 1)} GiB, Node ${info.node}, PostgreSQL ${info.postgres}, ` +
      `load average ${info.loadStart.map((x) => x.toFixed(2)).join(' ')}`,
  );
  log(
    `settings: concurrency ${settings.concurrency}, ${settings.warmupMs / 1000} s warm-up + ${settings.durationMs / 1000} s per phase, ${settings.rounds} round(s); ` +
      `${settings.subscribers} subscribers, ${settings.fanoutRounds} change(s)`,
  );

  const children: ServerChild[] = [];
  let db: BenchDatabase | undefined;
  let seedDb: Database | undefined;
  let container: Container | undefined;
  const cleanup = async () => {
    for (const c of children) await c.stop().catch(() => undefined);
    await container?.close().catch(() => undefined);
    await seedDb?.close().catch(() => undefined);
    await db?.drop().catch((e: unknown) => log(`could not drop ${db?.name}: ${String(e)}`));
  };
  const deadline = setTimeout(() => {
    log(`The run exceeded ${RUN_DEADLINE_MS / 60_000} minutes; stopping.`);
    void cleanup().finally(() => process.exit(3));
  }, RUN_DEADLINE_MS);
  deadline.unref();
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted; cleaning up');
    void cleanup().finally(() => process.exit(130));
  });

  const figures: { viewer?: LoadPair; switch?: LoadPair; members?: LoadPair; fanout?: FanoutResult } = {};
  const optional: { phase: keyof typeof OPTIONAL; figures: Figures | null; note: string }[] = [];
  try {
    db = await createBenchDatabase();
    benchDatabaseName = db.name;
    log(`database ${db.name} created and migrated`);
    seedDb = await openDatabase({ databaseUrl: db.url, poolMax: 4 });
    const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'warn', ORGWAY_PUBLIC_URL: 'http://127.0.0.1:4000' });
    container = await createContainer(config, { db: seedDb, startBackground: false });
    const t0 = Date.now();
    const world = await seedWorld(container, {
      organizations: 50,
      teamsPerOrganization: 3,
      switchers: settings.concurrency,
      organizationsPerSwitcher: 10,
      parallel: 4,
    });
    log(`seeded in ${fmt((Date.now() - t0) / 1000, 1)} s: 50 organizations × 3 teams, a viewer with 50 memberships, ${world.switchers.length} switchers`);

    if (PHASES.has('viewer') || PHASES.has('switch') || PHASES.has('members')) {
      const gateway = await startGatewayProcess(db.url);
      children.push(gateway);
      const floor = await startFloorProcess(db.url);
      children.push(floor);

      if (PHASES.has('viewer')) {
        await checkViewerAnswers(gateway, floor, world);
        const gwBody = JSON.stringify({ query: VIEWER_QUERY });
        const floorBody = JSON.stringify({ first: 50 });
        const headers = auth(world.viewer.token);
        const gatewaySql = await statementsPerRequest(gateway, async () => void (await post(`${gateway.url}/graphql`, { query: VIEWER_QUERY }, headers)), 'viewer');
        const floorSql = await statementsPerRequest(floor, async () => void (await post(`${floor.url}/viewer`, { first: 50 }, headers)), 'viewer');
        figures.viewer = await runPair(
          'viewer',
          gateway,
          floor,
          () => ({ path: '/graphql', body: gwBody, headers }),
          () => ({ path: '/viewer', body: floorBody, headers }),
          gatewaySql,
          floorSql,
        );
      }

      if (PHASES.has('switch')) {
        await checkSwitchAnswers(gateway, floor, world);
        // Each worker is one user with one session, moving through its organizations in turn.
        const gwBodies = world.switchers.map((s) => s.organizationIds.map((o) => JSON.stringify({ query: SWITCH_MUTATION, variables: { o } })));
        const floorBodies = world.switchers.map((s) => s.organizationIds.map((o) => JSON.stringify({ organizationId: o })));
        const headers = world.switchers.map((s) => auth(s.token));
        const pick = (bodies: string[][], w: number, seq: number) => bodies[w]![(seq + 2) % bodies[w]!.length]!;
        const s0 = world.switchers[0]!;
        let k = 0;
        const gatewaySql = await statementsPerRequest(gateway, async () => {
          await post(`${gateway.url}/graphql`, { query: SWITCH_MUTATION, variables: { o: s0.organizationIds[k++ % s0.organizationIds.length] } }, headers[0]!);
        }, 'switch');
        const floorSql = await statementsPerRequest(floor, async () => {
          await post(`${floor.url}/switch`, { organizationId: s0.organizationIds[k++ % s0.organizationIds.length] }, headers[0]!);
        }, 'switch');
        figures.switch = await runPair(
          'switch',
          gateway,
          floor,
          (w, seq) => ({ path: '/graphql', body: pick(gwBodies, w, seq), headers: headers[w]! }),
          (w, seq) => ({ path: '/switch', body: pick(floorBodies, w, seq), headers: headers[w]! }),
          gatewaySql,
          floorSql,
        );
      }
      if (PHASES.has('members')) {
        await checkMembersAnswers(gateway, floor, world);
        const o = world.organizationIds[0]!;
        const gwBody = JSON.stringify({ query: MEMBERS_QUERY, variables: { o } });
        const floorBody = JSON.stringify({ organizationId: o, first: 50 });
        const headers = auth(world.viewer.token);
        const gatewaySql = await statementsPerRequest(gateway, async () => void (await post(`${gateway.url}/graphql`, { query: MEMBERS_QUERY, variables: { o } }, headers)), 'members');
        const floorSql = await statementsPerRequest(floor, async () => void (await post(`${floor.url}/members`, { organizationId: o, first: 50 }, headers)), 'members');
        figures.members = await runPair(
          'members',
          gateway,
          floor,
          () => ({ path: '/graphql', body: gwBody, headers }),
          () => ({ path: '/members', body: floorBody, headers }),
          gatewaySql,
          floorSql,
        );
      }
      for (const c of children.splice(0)) await c.stop();
    }

    if (PHASES.has('fanout')) figures.fanout = await runFanout(db, container, world);
  } finally {
    await cleanup();
  }
  for (const phase of ['saml', 'scim', 'eventlog', 'webhooks'] as const) if (PHASES.has(phase)) optional.push({ phase, ...(await runOptional(phase)) });

  // ---- the table
  const rows: Row[] = [
    ...(figures.viewer ? loadRows('Viewer query', figures.viewer, 0.5) : []),
    ...(figures.switch ? loadRows('switchOrganization', figures.switch, 0.4) : []),
    ...(figures.members ? loadRows('Organization with 50 members', figures.members, 0.6) : []),
    ...(figures.fanout ? fanoutRows(figures.fanout) : []),
  ];
  const loadEnd = loadavg();
  log('');
  log(textTable(rows));
  const missed = rows.filter((r) => r.missedBy).map((r) => r.missedBy!);
  for (const m of missed) log(`MISSED  ${m}`);
  log('');

  if (settings.write) {
    const lines = [
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${info.nproc} CPUs (${info.cpu}), ${fmt(info.memoryGiB, 1)} GiB RAM, ` +
        `Node ${info.node}, PostgreSQL ${info.postgres} on the same machine. Load average ${info.loadStart.map((x) => x.toFixed(2)).join(' / ')} at the start, ` +
        `${loadEnd.map((x) => x.toFixed(2)).join(' / ')} at the end (other work on the machine shows up there).`,
      '',
      `Settings: ${settings.concurrency} concurrent keep-alive connections, ${settings.warmupMs / 1000} s warm-up + ${settings.durationMs / 1000} s measured per phase, ` +
        `${settings.rounds} gateway/floor round(s) in alternating order (medians shown); ${settings.subscribers.toLocaleString('en-US')} subscribers, ` +
        `${settings.fanoutRounds} membership change(s).`,
      '',
      markdownTable(rows),
      '',
      ...(missed.length ? ['Missed targets:', '', ...missed.map((m) => `- ${m}`), ''] : ['Every target was met in this run.', '']),
      ...optional.flatMap((o) => (o.figures ? [figuresTable({ saml: 'SAML (bench/saml.ts)', scim: 'SCIM (bench/scim.ts)', eventlog: 'Event log writes (bench/event-log.ts)', webhooks: 'Webhooks (bench/webhooks.ts)' }[o.phase], o.figures), ''] : [`${o.note}.`, ''])),
      ...(figures.fanout
        ? [
            `Fan-out details: connecting and subscribing took ${fmt(figures.fanout.connectSeconds, 1)} s; gateway heapUsed ` +
              `${fmt(figures.fanout.before.heapUsed / 2 ** 20)} → ${fmt(figures.fanout.after.heapUsed / 2 ** 20)} MiB, RSS ` +
              `${fmt(figures.fanout.before.rss / 2 ** 20)} → ${fmt(figures.fanout.after.rss / 2 ** 20)} MiB (after GC); ` +
              `external + array buffers ${fmt(figures.fanout.externalPerSubscriber, 2)} KiB per subscriber.`,
            '',
          ]
        : []),
    ];
    await writeFiguresBlock(README, lines.join('\n'));
    log(`figures written to ${README.replace(ROOT, '')}`);
  }
};

await main();
// Child processes, sockets and pools are closed; exit even if a library keeps a timer.
process.exit(0);
