/**
 * `npm run drills [-- --only <drill,…>] [--repeat N] [--json <file>]`
 *
 * Failure drills on a PostgreSQL cluster of their own (a temporary directory, removed at the
 * end) and two gateway instances in child processes: kill -9, a fast PostgreSQL restart,
 * PostgreSQL stopped for 20 s, a hung network path, SIGTERM under load, slow consumers.
 * Each run prints what 200 subscribers received against the log, what the writer was told
 * against what committed, and how long recovery took; then its verdict. Exit code 0 when
 * every run passed, 1 when one failed, 2 on bad options, 3 when the whole run overran its bound.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DRILL_TITLES, type DrillName, type DrillResult, DRILLS, EXPECTED_SECONDS, runDrill, SETTINGS } from './drills.js';
import { createWorld, type World } from './world.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

const usage = `npm run drills [-- options]
  --only <drill,…>   run only these (${DRILLS.join(', ')}); default: all, in this order
  --repeat N         run each selected drill N times (1–20; default 1)
  --json <file>      also write every run's figures as JSON
`;

let args: { only?: string; repeat?: string; json?: string; help?: boolean };
try {
  ({ values: args } = parseArgs({
    options: { only: { type: 'string' }, repeat: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean' } },
    allowPositionals: false,
  }));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  log(usage);
  process.exit(0);
}
const selected = (args.only ?? DRILLS.join(',')).split(',').map((s) => s.trim()) as DrillName[];
const unknown = selected.filter((d) => !DRILLS.includes(d));
const repeat = Number(args.repeat ?? 1);
if (unknown.length || !Number.isInteger(repeat) || repeat < 1 || repeat > 20) {
  process.stderr.write(`${unknown.length ? `unknown drill: ${unknown.join(', ')}` : '--repeat must be a whole number from 1 to 20'}\n${usage}`);
  process.exit(2);
}

const SETUP_SECONDS = 20;
const expectedSeconds = SETUP_SECONDS + selected.reduce((n, d) => n + EXPECTED_SECONDS[d] * repeat, 0);
/** Bound of the whole run: twice the expected duration plus five minutes, then everything is stopped. */
const deadlineMs = (2 * expectedSeconds + 300) * 1000;

const fmtS = (ms: number | null | undefined) => (ms === null || ms === undefined || !Number.isFinite(ms) ? '—' : `${(ms / 1000).toFixed(1)} s`);
const counts = (c: Record<string, number>) =>
  Object.entries(c)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ') || 'none';

const printResult = (r: DrillResult, index: number, total: number) => {
  log('');
  log(`[${index}/${total}] ${r.drill} run ${r.run + 1} — ${r.passed ? 'PASS' : 'FAIL'} (${fmtS(r.durationMs)}, started ${r.startedAt})`);
  for (const n of r.notes) log(`  ${n}`);
  log(
    `  events: ${r.logEvents} in the log for the drill's organizations; per subscriber expected ${r.expectedMin}–${r.expectedMax}, ` +
      `received ${r.receivedMin}–${r.receivedMax}; ${r.complete}/${r.subscribers} subscribers complete`,
  );
  log(`  gaps ${r.gaps} (${r.subscribersWithGaps} subscribers), duplicates ${r.duplicates}, out of order ${r.outOfOrder}, unknown ids ${r.unexpected}`);
  log(`  writes: ${r.acknowledged} acknowledged, ${r.acknowledgedLost} of them lost; ${r.failedRequests} failed (${counts(r.failedReasons)}), ${r.failedCommitted} of them committed`);
  for (const i of r.recovery)
    log(
      `  instance ${i.name}: ${i.stayedReady ? 'stayed ready' : `not ready ${fmtS(i.notReadyMs)} in all, ready again ${fmtS(i.readyAfterMs)} after the fault ended`}` +
        `${i.healthFailed ? ', /healthz failed meanwhile' : ''}; ${i.firstEventAfterMs === null ? 'no event delivered by it after (no subscriber on it)' : `first event delivered ${fmtS(i.firstEventAfterMs)} after`}`,
    );
  log(`  subscriber connections closed: ${counts(r.closes)}; operations ended by: ${counts(r.operationErrors)}`);
  log(`  delivery lag (write acknowledged → event received): p50 ${r.lagP50Ms.toFixed(0)} ms, p99 ${r.lagP99Ms.toFixed(0)} ms`);
  for (const f of r.failures) log(`  FAILURE: ${f}`);
};

const summary = (results: DrillResult[]): string[] => {
  const lines = [
    '| drill | runs | passed | events/subscriber (min–max) | complete | gaps | dups | acked lost | failed req. (committed) | ready again after the fault ended (max) | first event after (max, instances with subscribers) |',
    '| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | --- | --- | --- |',
  ];
  for (const d of DRILLS) {
    const rs = results.filter((r) => r.drill === d);
    if (!rs.length) continue;
    const values = (f: (r: DrillResult) => (number | null)[]) => rs.flatMap(f).filter((x): x is number => x !== null);
    const notReadyAgain = rs.some((r) => r.recovery.some((i) => i.readyAfterMs === null));
    const readyMax = values((r) => r.recovery.map((i) => i.readyAfterMs));
    const firstEventMax = values((r) => r.recovery.map((i) => i.firstEventAfterMs));
    const sum = (f: (r: DrillResult) => number) => rs.reduce((n, r) => n + f(r), 0);
    lines.push(
      `| ${d} | ${rs.length} | ${rs.filter((r) => r.passed).length} | ${Math.min(...rs.map((r) => r.receivedMin))}–${Math.max(...rs.map((r) => r.receivedMax))} ` +
        `| ${sum((r) => r.complete)}/${sum((r) => r.subscribers)} | ${sum((r) => r.gaps)} | ${sum((r) => r.duplicates)} | ${sum((r) => r.acknowledgedLost)} ` +
        `| ${sum((r) => r.failedRequests)} (${sum((r) => r.failedCommitted)}) | ${notReadyAgain ? 'NOT READY AGAIN' : fmtS(Math.max(...readyMax))} ` +
        `| ${firstEventMax.length ? fmtS(Math.max(...firstEventMax)) : '—'} |`,
    );
  }
  return lines;
};

const main = async (): Promise<number> => {
  const runId = randomBytes(3).toString('hex');
  log(
    `orgway failure drills — ${new Date().toISOString()} — ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}, ` +
      `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );
  log(`drills: ${selected.join(', ')} × ${repeat}; expected duration about ${Math.ceil(expectedSeconds / 60)} min (bounded at ${Math.ceil(deadlineMs / 60_000)} min)`);
  log(
    `each run: ${SETTINGS.subscribers} subscribers (half on each instance), a writer through both instances, ` +
      `pass = no gap, no duplicate, no acknowledged write lost, every instance ready within ${SETTINGS.readyBoundMs / 1000} s of the fault's end ` +
      `and every subscriber complete within ${SETTINGS.catchUpBoundMs / 1000} s of the last write`,
  );

  let world: World | undefined;
  let finished = false;
  const cleanup = async () => {
    await world?.destroy().catch((e: unknown) => log(`cleanup failed: ${String(e)}`));
  };
  const deadline = setTimeout(() => {
    if (finished) return;
    log(`The run exceeded its bound of ${Math.ceil(deadlineMs / 60_000)} minutes; stopping.`);
    void cleanup().finally(() => process.exit(3));
  }, deadlineMs);
  deadline.unref();
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted; stopping the instances and the cluster');
    void cleanup().finally(() => process.exit(130));
  });

  const results: DrillResult[] = [];
  try {
    const t0 = performance.now();
    world = await createWorld({ organizations: 4, log });
    log(`PostgreSQL cluster in ${world.cluster.dir} on port ${world.cluster.port}, TCP proxy on ${world.proxy.port}; set up in ${fmtS(performance.now() - t0)}`);
    const plan = selected.flatMap((d) => Array.from({ length: repeat }, (_, k) => [d, k] as const));
    for (const [k, [drill, run]] of plan.entries()) {
      log('');
      log(`— ${drill} run ${run + 1}/${repeat}: ${DRILL_TITLES[drill]}`);
      const r = await runDrill(world, drill, run, runId, log);
      results.push(r);
      printResult(r, k + 1, plan.length);
      if (!r.passed) log(`  last lines of the PostgreSQL log:\n${world.cluster.logTail(5).replace(/^/gm, '    ')}`);
    }
  } catch (error) {
    log(`drills aborted: ${(error as Error).stack ?? String(error)}`);
    for (const i of world?.instances ?? []) log(`instance ${i.name} log tail:\n${i.logTail(10).replace(/^/gm, '    ')}`);
    finished = true;
    await cleanup();
    return 1;
  }
  finished = true;
  await cleanup();

  log('');
  for (const line of summary(results)) log(line);
  const failed = results.filter((r) => !r.passed);
  log('');
  log(failed.length ? `${failed.length} of ${results.length} runs FAILED: ${failed.map((r) => `${r.drill}#${r.run + 1}`).join(', ')}` : `all ${results.length} runs passed`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ at: new Date().toISOString(), settings: SETTINGS, results }, null, 2));
  return failed.length ? 1 : 0;
};

process.exit(await main());
