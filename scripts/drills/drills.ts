/**
 * The drills. Each run of one: both instances ready, 200 subscribers (half on each
 * instance, spread over the organizations, all subscribed with `after` = the settled log
 * position), the writer going through both instances; then the fault, its end, recovery,
 * a few more seconds of writes, and the comparison of every subscriber's sequence with the
 * log as PostgreSQL has it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayInstance } from './gateway-instance.js';
import { type Endpoint, mergeCounts, Subscriber } from './subscribers.js';
import { committedEmails, readLog, settledPosition, type World } from './world.js';
import { Writer } from './writer.js';

export const DRILLS = ['kill9', 'pg-restart', 'pg-stop', 'hung-proxy', 'sigterm', 'slow-consumer'] as const;
export type DrillName = (typeof DRILLS)[number];

export const DRILL_TITLES: Record<DrillName, string> = {
  kill9: 'kill -9 of one instance; its subscribers resume on the other with `after`',
  'pg-restart': 'fast PostgreSQL restart (pg_ctl restart -m fast)',
  'pg-stop': 'PostgreSQL stopped for 20 s, then started',
  'hung-proxy': "instance A's path to PostgreSQL hangs for 20 s (TCP proxy stops forwarding, closes nothing)",
  sigterm: 'SIGTERM of one instance under load (drain), its subscribers resume on the other',
  'slow-consumer': 'five subscribers stop reading their sockets during a write burst',
};

/** Rough duration of one run of each drill on a 2-core machine (s), for the announced total. */
export const EXPECTED_SECONDS: Record<DrillName, number> = {
  kill9: 15,
  'pg-restart': 12,
  'pg-stop': 32,
  'hung-proxy': 32,
  sigterm: 16,
  'slow-consumer': 45,
};

export const SETTINGS = {
  subscribers: 200,
  /** Pause between two writes of one writer loop; one loop per organization and instance (8 loops, about 14 changes/s in all with round trips). */
  writeIntervalMs: 500,
  warmupMs: 3_000,
  /** Writes continue this long after every instance is ready again. */
  afterRecoveryMs: 4_000,
  /** Pass: every instance ready again within this long after the fault ended. */
  readyBoundMs: 30_000,
  /** After the writer stops, every subscriber must have the whole log within this long. */
  catchUpBoundMs: 30_000,
  outageMs: 20_000,
  slowConsumers: 5,
  slowWindowMs: 30_000,
  /** The others must keep getting events during the slow window: ack-to-receipt p99 at most this. */
  slowOthersP99BoundMs: 2_000,
} as const;

export interface InstanceRecovery {
  name: string;
  /** Seen not ready for this long in all (ms). */
  notReadyMs: number;
  /** From the fault's end to /readyz 200 again (ms); null: not ready again within the bound. */
  readyAfterMs: number | null;
  stayedReady: boolean;
  healthFailed: boolean;
  /** From the fault's end to the first event a subscriber received from this instance (ms). */
  firstEventAfterMs: number | null;
  /** What it said when the report was made (for a failure). */
  readyz: string;
  healthz: string;
}

export interface DrillResult {
  drill: DrillName;
  run: number;
  startedAt: string;
  durationMs: number;
  passed: boolean;
  failures: string[];
  notes: string[];
  logEvents: number;
  expectedMin: number;
  expectedMax: number;
  receivedMin: number;
  receivedMax: number;
  complete: number;
  subscribers: number;
  gaps: number;
  subscribersWithGaps: number;
  duplicates: number;
  outOfOrder: number;
  unexpected: number;
  acknowledged: number;
  acknowledgedLost: number;
  failedRequests: number;
  failedReasons: Record<string, number>;
  failedCommitted: number;
  recovery: InstanceRecovery[];
  closes: Record<string, number>;
  operationErrors: Record<string, number>;
  lagP50Ms: number;
  lagP99Ms: number;
  extra: Record<string, string | number>;
}

interface Fault {
  /** performance.now() when the fault began and when it ended (the service was given back). */
  faultAt: number;
  restoreAt: number;
  failures: string[];
  notes: string[];
  extra: Record<string, string | number>;
}

export interface DrillContext {
  world: World;
  subscribers: Subscriber[];
  writer: Writer;
  log: (line: string) => void;
  run: number;
}

const percentile = (sorted: number[], p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

const describeState = (world: World, instance: GatewayInstance): string => {
  const o = world.monitor.last(instance.name);
  return `/readyz ${o?.ready.status ?? '?'} ${o?.ready.body ?? ''}; /healthz ${o?.health.status ?? '?'} ${o?.health.body ?? ''}; process ${instance.running ? `running (pid ${instance.pid})` : `not running (${JSON.stringify(instance.lastExit)})`}`;
};

/** After `restoreAt`: every instance ready again within the bound, or a failure naming it. */
const awaitRecovery = async (ctx: DrillContext, restoreAt: number, failures: string[]): Promise<void> => {
  const names = ctx.world.instances.map((i) => i.name);
  const remaining = SETTINGS.readyBoundMs - (performance.now() - restoreAt);
  if (await ctx.world.monitor.waitReady(names, Math.max(0, remaining))) return;
  for (const i of ctx.world.instances)
    if (!ctx.world.monitor.isReady(i.name))
      failures.push(`instance ${i.name} not ready ${SETTINGS.readyBoundMs / 1000} s after the fault ended: ${describeState(ctx.world, i)}`);
};

/** The subscribers connected to an instance right now. */
const on = (ctx: DrillContext, name: string) => ctx.subscribers.filter((s) => s.connected && s.instance === name);

/** Time until every one of these subscribers has a new connection_ack after `since` (ms), or null. */
const resubscribedAfter = (subscribers: Subscriber[], since: number): number | null => {
  let last = 0;
  for (const s of subscribers) {
    const ack = s.acks.find((a) => a.at > since);
    if (!ack) return null;
    last = Math.max(last, ack.at - since);
  }
  return last;
};

const faults: Record<DrillName, (ctx: DrillContext) => Promise<Fault>> = {
  async kill9(ctx) {
    const victim = ctx.world.instances[ctx.run % 2]!;
    const moved = on(ctx, victim.name);
    const faultAt = performance.now();
    victim.kill9();
    await victim.waitExit();
    // Its subscribers find the other instance; then the killed one is started again.
    const until = performance.now() + 20_000;
    while (resubscribedAfter(moved, faultAt) === null && performance.now() < until) await sleep(100);
    const resubscribed = resubscribedAfter(moved, faultAt);
    const failures = resubscribed === null ? [`${moved.filter((s) => !s.acks.some((a) => a.at > faultAt)).length} of ${moved.length} subscribers of ${victim.name} did not resubscribe within 20 s`] : [];
    await sleep(1_000);
    const restoreAt = performance.now();
    const startMs = await victim.start().catch((error: unknown) => {
      failures.push(`restarting ${victim.name} failed: ${String(error)}`);
      return NaN;
    });
    return {
      faultAt,
      restoreAt,
      failures,
      notes: [
        `killed ${victim.name} (kill -9) with ${moved.length} subscribers on it; ` +
          `${resubscribed === null ? 'not all of them resubscribed' : `all resubscribed elsewhere within ${(resubscribed / 1000).toFixed(1)} s`}; ${victim.name} restarted 1 s later`,
      ],
      extra: { victim: victim.name, movedSubscribers: moved.length, resubscribedMs: resubscribed ?? NaN, restartReadyMs: startMs },
    };
  },

  async 'pg-restart'(ctx) {
    const faultAt = performance.now();
    await ctx.world.cluster.restart();
    const restoreAt = performance.now();
    return { faultAt, restoreAt, failures: [], notes: [], extra: { restartMs: restoreAt - faultAt } };
  },

  async 'pg-stop'(ctx) {
    const faultAt = performance.now();
    await ctx.world.cluster.stop();
    await sleep(Math.max(0, SETTINGS.outageMs - (performance.now() - faultAt)));
    await ctx.world.cluster.start();
    const restoreAt = performance.now();
    return { faultAt, restoreAt, failures: [], notes: [], extra: { outageMs: restoreAt - faultAt } };
  },

  async 'hung-proxy'(ctx) {
    const faultAt = performance.now();
    ctx.world.proxy.pause();
    await sleep(SETTINGS.outageMs);
    ctx.world.proxy.resume();
    const restoreAt = performance.now();
    return { faultAt, restoreAt, failures: [], notes: [], extra: { hungMs: restoreAt - faultAt } };
  },

  async sigterm(ctx) {
    const victim = ctx.world.instances[ctx.run % 2]!;
    const moved = on(ctx, victim.name);
    const failures: string[] = [];
    // Under load: the writer goes at four times its usual pace while the instance drains.
    ctx.writer.intervalMs = SETTINGS.writeIntervalMs / 4;
    await sleep(1_000);
    const faultAt = performance.now();
    const exit = await victim.terminate();
    const drainMs = exit.at - faultAt;
    ctx.writer.intervalMs = SETTINGS.writeIntervalMs;
    if (exit.code !== 0) failures.push(`${victim.name} exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    await sleep(300);
    const closed1001 = moved.filter((s) => s.closes.has(1001)).length;
    if (closed1001 !== moved.length) failures.push(`${moved.length - closed1001} of ${moved.length} subscriptions on ${victim.name} were not closed with 1001`);
    const until = performance.now() + 20_000;
    while (resubscribedAfter(moved, faultAt) === null && performance.now() < until) await sleep(100);
    const resubscribed = resubscribedAfter(moved, faultAt);
    if (resubscribed === null) failures.push(`subscribers of ${victim.name} did not all resubscribe within 20 s`);
    await sleep(1_000);
    const restoreAt = performance.now();
    await victim.start().catch((error: unknown) => failures.push(`restarting ${victim.name} failed: ${String(error)}`));
    return {
      faultAt,
      restoreAt,
      failures,
      notes: [
        `SIGTERM to ${victim.name}: exit code ${exit.code} after ${(drainMs / 1000).toFixed(2)} s, ${closed1001}/${moved.length} subscriptions closed with 1001, ` +
          `${resubscribed === null ? 'not all resubscribed' : `all resubscribed elsewhere within ${(resubscribed / 1000).toFixed(1)} s`}`,
      ],
      extra: { victim: victim.name, exitCode: exit.code ?? NaN, drainMs, closed1001, movedSubscribers: moved.length, resubscribedMs: resubscribed ?? NaN },
    };
  },

  async 'slow-consumer'(ctx) {
    const instance = ctx.world.instances[0];
    const slow = on(ctx, instance.name).slice(0, SETTINGS.slowConsumers);
    const slowSet = new Set(slow);
    const failures: string[] = [];
    const activeBefore = await activeSubscriptions(instance);
    const received = slow.map((s) => s.receipts.length);
    for (const s of slow) if (!s.pauseReading()) failures.push(`subscriber ${s.index} has no socket to pause`);
    const faultAt = performance.now();
    // A burst: the writer at ten times its pace, so the stopped sockets fill while the others must keep up.
    ctx.writer.intervalMs = SETTINGS.writeIntervalMs / 10;
    let serverClosedAfterMs: number | null = null;
    const until = faultAt + SETTINGS.slowWindowMs;
    while (performance.now() < until) {
      await sleep(500);
      const active = await activeSubscriptions(instance);
      if (serverClosedAfterMs === null && active !== null && activeBefore !== null && active <= activeBefore - slow.length) serverClosedAfterMs = performance.now() - faultAt;
    }
    ctx.writer.intervalMs = SETTINGS.writeIntervalMs;
    // The others during the window: ack-to-receipt lag of the events they got.
    const acks = new Map(ctx.writer.acknowledged.map((a) => [a.userId, a.ackAt]));
    const lags: number[] = [];
    for (const s of ctx.subscribers)
      if (!slowSet.has(s)) for (const r of s.receipts) if (r.at >= faultAt && r.at <= until) lags.push(Math.max(0, r.at - (acks.get(r.userId) ?? r.at)));
    lags.sort((x, y) => x - y);
    const othersP99 = percentile(lags, 99);
    if (!(othersP99 <= SETTINGS.slowOthersP99BoundMs)) failures.push(`the other subscribers' delivery lag p99 was ${othersP99.toFixed(0)} ms during the slow window (bound ${SETTINGS.slowOthersP99BoundMs} ms)`);
    const gotWhilePaused = slow.map((s, k) => s.receipts.length - received[k]!);
    for (const s of slow) s.resumeReading();
    const restoreAt = performance.now();
    await sleep(2_000);
    const closes = mergeCounts(slow.map((s) => s.closes));
    return {
      faultAt,
      restoreAt,
      failures,
      notes: [
        `${slow.length} subscribers on ${instance.name} stopped reading for ${SETTINGS.slowWindowMs / 1000} s during a burst; ` +
          `the others' ack-to-receipt lag meanwhile p50 ${percentile(lags, 50).toFixed(0)} ms, p99 ${othersP99.toFixed(0)} ms over ${lags.length} receipts`,
        serverClosedAfterMs === null
          ? `the gateway kept the stopped subscribers' connections open through the window (orgway_active_subscriptions did not drop by ${slow.length})`
          : `the gateway closed the stopped subscribers' connections ${(serverClosedAfterMs / 1000).toFixed(1)} s after they stopped reading (orgway_active_subscriptions dropped by ${slow.length})`,
        `while stopped they processed ${Math.min(...gotWhilePaused)}–${Math.max(...gotWhilePaused)} events; on reading again they saw closes ${JSON.stringify(closes)} and resubscribed with \`after\``,
      ],
      extra: { othersLagP50Ms: percentile(lags, 50), othersLagP99Ms: othersP99, serverClosedAfterMs: serverClosedAfterMs ?? NaN },
    };
  },
};

/** orgway_active_subscriptions of one instance, or null when it does not answer. */
const activeSubscriptions = async (instance: GatewayInstance): Promise<number | null> => {
  try {
    const text = await (await fetch(`${instance.url}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    const line = text.split('\n').find((l) => l.startsWith('orgway_active_subscriptions'));
    return line ? Number(line.split(' ').pop()) : null;
  } catch {
    return null;
  }
};

export const runDrill = async (world: World, drill: DrillName, run: number, runId: string, log: (line: string) => void): Promise<DrillResult> => {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const failures: string[] = [];
  const endpoints: Endpoint[] = world.instances.map((i) => ({ name: i.name, wsUrl: i.wsUrl }));

  // Both instances up and ready.
  for (const i of world.instances) if (!i.running) await i.start();
  if (!(await world.monitor.waitReady(endpoints.map((e) => e.name), 60_000))) throw new Error('the instances are not ready before the drill');

  const position = await settledPosition(world.referee);
  const subscribers = Array.from(
    { length: SETTINGS.subscribers },
    (_, i) => new Subscriber(i, world.organizations[i % world.organizations.length]!.id, world.organizations[i % world.organizations.length]!.token, endpoints[i % 2]!.name, position, endpoints, world.monitor),
  );
  for (const s of subscribers) s.start();
  const connectUntil = performance.now() + 30_000;
  while (subscribers.some((s) => !s.connected) && performance.now() < connectUntil) await sleep(50);
  if (subscribers.some((s) => !s.connected)) throw new Error(`${subscribers.filter((s) => !s.connected).length} subscribers could not connect before the drill`);

  const writer = new Writer(
    () => endpoints,
    world.organizations,
    (e) => `${world.instances.find((i) => i.name === e.name)!.url}/graphql`,
    `${runId}.${drill}.${run}`,
    SETTINGS.writeIntervalMs,
  );
  writer.start();
  await sleep(SETTINGS.warmupMs);

  const ctx: DrillContext = { world, subscribers, writer, log, run };
  let fault: Fault;
  try {
    fault = await faults[drill](ctx);
  } catch (error) {
    failures.push(`the fault itself failed: ${(error as Error).stack ?? String(error)}`);
    fault = { faultAt: performance.now(), restoreAt: performance.now(), failures: [], notes: [], extra: {} };
  }
  failures.push(...fault.failures);
  await awaitRecovery(ctx, fault.restoreAt, failures);
  await sleep(SETTINGS.afterRecoveryMs);
  await writer.stop();

  // Everything written is in the log; every subscriber must now get all of it.
  let final = position;
  try {
    final = await settledPosition(world.referee);
  } catch (error) {
    failures.push(`the log could not be read after the drill: ${String(error)}`);
  }
  const orgIds = world.organizations.map((o) => o.id);
  const logEvents = await readLog(world.referee, orgIds, position, final).catch(() => []);
  const byOrg = new Map<string, string[]>(orgIds.map((id) => [id, []]));
  for (const e of logEvents) byOrg.get(e.organizationId)!.push(e.id);
  const complete = (s: Subscriber) => byOrg.get(s.organizationId)!.every((id) => s.seen.has(id));
  const catchUntil = performance.now() + SETTINGS.catchUpBoundMs;
  while (!subscribers.every(complete) && performance.now() < catchUntil) await sleep(100);
  if (!subscribers.every(complete))
    failures.push(`${subscribers.filter((s) => !complete(s)).length} subscribers did not have every event ${SETTINGS.catchUpBoundMs / 1000} s after the writer stopped (instances: ${world.instances.map((i) => `${i.name}: ${describeState(world, i)}`).join(' | ')})`);

  // Per subscriber: expected vs received, gaps, duplicates.
  let gaps = 0;
  let subscribersWithGaps = 0;
  let unexpected = 0;
  const expectedCounts: number[] = [];
  const receivedCounts: number[] = [];
  for (const s of subscribers) {
    const expected = byOrg.get(s.organizationId)!;
    const expectedSet = new Set(expected);
    const missing = expected.filter((id) => !s.seen.has(id)).length;
    gaps += missing;
    if (missing) subscribersWithGaps += 1;
    unexpected += [...s.seen].filter((id) => !expectedSet.has(id) && BigInt(id) <= BigInt(final)).length;
    expectedCounts.push(expected.length);
    receivedCounts.push(s.receipts.length);
  }
  const duplicates = subscribers.reduce((n, s) => n + s.duplicates, 0);
  const outOfOrder = subscribers.reduce((n, s) => n + s.outOfOrder, 0);

  // Acknowledged writes whose event is not in the log; failed writes that committed anyway.
  const joined = new Set(logEvents.filter((e) => e.type === 'JOINED').map((e) => `${e.organizationId}/${e.userId}`));
  const lost = writer.acknowledged.filter((a) => !joined.has(`${a.organizationId}/${a.userId}`));
  const committed = await committedEmails(world.referee, writer.failed.map((f) => f.email)).catch(() => new Set<string>());
  const failedReasons: Record<string, number> = {};
  for (const f of writer.failed) failedReasons[`${f.instance}: ${f.reason}`] = (failedReasons[`${f.instance}: ${f.reason}`] ?? 0) + 1;

  // Recovery per instance.
  const recovery: InstanceRecovery[] = world.instances.map((i) => {
    const r = world.monitor.recovery(i.name, fault.faultAt);
    const readyAfterMs = r.readyAgainAt === undefined ? null : Math.max(0, r.readyAgainAt - fault.restoreAt);
    const first = Math.min(...subscribers.flatMap((s) => s.receipts.filter((x) => x.instance === i.name && x.at >= fault.restoreAt).map((x) => x.at)));
    const last = world.monitor.last(i.name);
    return {
      name: i.name,
      notReadyMs: r.notReadyMs,
      readyAfterMs,
      stayedReady: r.stayedReady,
      healthFailed: r.healthFailed,
      firstEventAfterMs: Number.isFinite(first) ? first - fault.restoreAt : null,
      readyz: `${last?.ready.status ?? '?'} ${last?.ready.body ?? ''}`,
      healthz: `${last?.health.status ?? '?'} ${last?.health.body ?? ''}`,
    };
  });
  for (const r of recovery)
    if (r.readyAfterMs !== null && r.readyAfterMs > SETTINGS.readyBoundMs) failures.push(`instance ${r.name} ready again only ${(r.readyAfterMs / 1000).toFixed(1)} s after the fault ended (bound ${SETTINGS.readyBoundMs / 1000} s)`);

  const acks = new Map(writer.acknowledged.map((a) => [a.userId, a.ackAt]));
  const lags = subscribers.flatMap((s) => s.receipts.filter((r) => acks.has(r.userId)).map((r) => Math.max(0, r.at - acks.get(r.userId)!))).sort((x, y) => x - y);

  if (gaps) failures.push(`${gaps} events missing across ${subscribersWithGaps} subscribers`);
  if (duplicates) failures.push(`${duplicates} duplicate deliveries`);
  if (outOfOrder) failures.push(`${outOfOrder} deliveries out of order`);
  if (unexpected) failures.push(`${unexpected} delivered ids that are not in the organization's log`);
  if (lost.length) failures.push(`${lost.length} acknowledged writes have no event in the log (e.g. ${lost[0]!.email} through ${lost[0]!.instance})`);
  for (const i of world.instances) if (!i.running) failures.push(`instance ${i.name} is not running at the end: ${describeState(world, i)}`);

  await Promise.all(subscribers.map((s) => s.close()));
  return {
    drill,
    run,
    startedAt,
    durationMs: performance.now() - t0,
    passed: failures.length === 0,
    failures,
    notes: fault.notes,
    logEvents: logEvents.length,
    expectedMin: Math.min(...expectedCounts),
    expectedMax: Math.max(...expectedCounts),
    receivedMin: Math.min(...receivedCounts),
    receivedMax: Math.max(...receivedCounts),
    complete: subscribers.filter(complete).length,
    subscribers: subscribers.length,
    gaps,
    subscribersWithGaps,
    duplicates,
    outOfOrder,
    unexpected,
    acknowledged: writer.acknowledged.length,
    acknowledgedLost: lost.length,
    failedRequests: writer.failed.length,
    failedReasons,
    failedCommitted: writer.failed.filter((f) => committed.has(f.email)).length,
    recovery,
    closes: mergeCounts(subscribers.map((s) => s.closes)),
    operationErrors: mergeCounts(subscribers.map((s) => s.operationErrors)),
    lagP50Ms: percentile(lags, 50),
    lagP99Ms: percentile(lags, 99),
    extra: fault.extra,
  };
};
