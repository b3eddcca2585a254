/**
 * Event-log write capacity: membership changes per second at 1 / 4 / 16 / 64 concurrent
 * writers, each in its own organization, on a fresh PostgreSQL database (fsync and
 * synchronous_commit as the server has them). Each change is what the membership writer
 * does: one transaction that updates a membership row and appends its event.
 *
 * - `lock` (the previous design, kept here only as the baseline): the append takes one
 *   advisory lock for the whole installation and holds it through commit, and
 *   `pg_notify` runs inside the transaction (PostgreSQL's global notify lock through commit).
 * - `xid` (the current design, src/domain/events/event-log.ts): no lock, ids from the
 *   transaction id, the notification after commit (one `CommitNotifier` per process).
 *
 * Both run in the same process against the same server, alternating. Afterwards the log is
 * read back with `readEventsAfter` in small pages and compared with the table: every
 * event once, ids increasing (`after` replay exact).
 * Options: `{ quick }` (2 s per point instead of 5); env BENCH_EVENTLOG_SECONDS.
 */
import pg from 'pg';
import { APPENDED, appendEventsCtes, CommitNotifier, readEventsAfter } from '../src/domain/events/event-log.js';
import { withCtes } from '../src/persistence/cte.js';
import type { SqlRunner } from '../src/persistence/orm.js';
import { createBenchDatabase } from './lib/database.js';

const WRITERS = [1, 4, 16, 64];

/** `?` → `$n` outside quoted literals (as MikroORM sends them). */
const numbered = (sql: string): string => {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
};

const COLUMNS = 'type, organization_id, user_id, membership_id, actor, role, status, previous_role, previous_status, team_ids, previous_team_ids, occurred_at';

/** The previous design's append, verbatim in its effect: lock, insert, notify, in the transaction. */
const LOCK_APPEND = `with append_lock as materialized (select pg_advisory_xact_lock(7303783)),
appended as (insert into membership_events_baseline (${COLUMNS})
  select v.* from append_lock cross join (values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12::timestamptz)) as v(${COLUMNS}) returning id)
select (select count(*) from appended)::int as appended, pg_notify('orgway_membership_events_baseline', '') as notified`;

const event = (org: number, i: number) => ({
  type: 'ROLE_CHANGED' as const,
  organizationId: `org_bench_${org}`,
  userId: `usr_bench_${org}`,
  membershipId: `mem_bench_${org}`,
  actor: 'system',
  role: i % 2 ? ('ADMIN' as const) : ('MEMBER' as const),
  status: 'ACTIVE' as const,
  previousRole: i % 2 ? ('MEMBER' as const) : ('ADMIN' as const),
  previousStatus: 'ACTIVE' as const,
  teamIds: null,
  previousTeamIds: null,
});

const UPDATE = `update memberships set role = $1, updated_at = now() where id = $2`;

type Design = 'lock' | 'xid';

const run = async (url: string, design: Design, writers: number, seconds: number): Promise<number> => {
  const clients = await Promise.all(
    Array.from({ length: writers }, async () => {
      const c = new pg.Client({ connectionString: url, application_name: `orgway-bench-${design}` });
      await c.connect();
      return c;
    }),
  );
  const notifyPool = new pg.Pool({ connectionString: url, max: 1 });
  const notifier = new CommitNotifier({ execute: async (sql, params) => (await notifyPool.query(numbered(sql), params as unknown[])).rows as never });
  let stop = false;
  let count = 0;
  const deadline = setTimeout(() => (stop = true), seconds * 1000);
  await Promise.all(
    clients.map(async (c, w) => {
      for (let i = 0; !stop; i++) {
        const e = event(w, i);
        await c.query('begin');
        await c.query(UPDATE, [e.role, e.membershipId]);
        if (design === 'lock')
          await c.query(LOCK_APPEND, [e.type, e.organizationId, e.userId, e.membershipId, e.actor, e.role, e.status, e.previousRole, e.previousStatus, null, null, new Date()]);
        else {
          const s = withCtes(appendEventsCtes([e], new Date()), APPENDED.sql, APPENDED.params);
          await c.query({ name: 'bench_xid_append', text: numbered(s.sql), values: s.params as unknown[] });
        }
        await c.query('commit');
        if (design === 'xid') notifier.notify();
        count++;
      }
    }),
  );
  clearTimeout(deadline);
  await Promise.all(clients.map((c) => c.end()));
  await notifyPool.end();
  return count / seconds;
};

export const benchEventLog = async (options: { quick?: boolean } = {}): Promise<Record<string, number | string | boolean>> => {
  const seconds = Number(process.env.BENCH_EVENTLOG_SECONDS ?? (options.quick ? 2 : 5));
  const db = await createBenchDatabase();
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const figures: Record<string, number | string | boolean> = {};
  try {
    const settings = await c.query<{ name: string; setting: string }>("select name, setting from pg_settings where name in ('fsync', 'synchronous_commit')");
    figures.server = settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ');
    await c.query(`create table membership_events_baseline (id bigserial primary key, ${COLUMNS.split(', ').map((col) => `${col} ${/team_ids/.test(col) ? 'jsonb' : col === 'occurred_at' ? 'timestamptz' : 'text'}`).join(', ')})`);
    const orgs = Math.max(...WRITERS);
    await c.query(`insert into organizations (id, name, auto_access_enabled, auto_access_default_role, auto_access_domains, created_at, updated_at)
                   select 'org_bench_' || g, 'Bench ' || g, false, 'MEMBER', '[]', now(), now() from generate_series(0, $1::int - 1) g`, [orgs]);
    await c.query(`insert into users (id, email, display_name, created_at, updated_at)
                   select 'usr_bench_' || g, 'bench.' || g || '@example.com', 'Bench ' || g, now(), now() from generate_series(0, $1::int - 1) g`, [orgs]);
    await c.query(`insert into memberships (id, user_id, organization_id, role, status, source, created_at, updated_at)
                   select 'mem_bench_' || g, 'usr_bench_' || g, 'org_bench_' || g, 'MEMBER', 'ACTIVE', 'MANUAL', now(), now() from generate_series(0, $1::int - 1) g`, [orgs]);
    for (const writers of WRITERS) {
      // Alternate which design goes first, so neither always gets the warmer server.
      const order: Design[] = writers % 2 ? ['lock', 'xid'] : ['xid', 'lock'];
      const result: Partial<Record<Design, number>> = {};
      for (const design of order) result[design] = await run(db.url, design, writers, seconds);
      figures[`changes/s ${writers} writers, lock (previous)`] = Math.round(result.lock!);
      figures[`changes/s ${writers} writers, xid (current)`] = Math.round(result.xid!);
      figures[`speed-up ${writers} writers`] = Math.round((result.xid! / result.lock!) * 100) / 100;
      process.stdout.write(`  event log ${writers} writers: lock ${Math.round(result.lock!)}/s, xid ${Math.round(result.xid!)}/s\n`);
    }
    // `after` replay over the whole log in pages of 97: exactly the table, ids increasing.
    const all = (await c.query<{ id: string }>('select id::text as id from membership_events order by id')).rows.map((r) => r.id);
    const read: string[] = [];
    let after = '0';
    const runner: Pick<SqlRunner, 'execute'> = { execute: async (sql, params) => (await c.query(numbered(sql), params as unknown[])).rows as never };
    for (;;) {
      const page = await readEventsAfter(runner, { after, limit: 97 });
      if (page.length === 0) break;
      for (const e of page) read.push(e.id);
      after = page.at(-1)!.id;
    }
    figures['events appended (xid)'] = all.length;
    figures['after replay exact'] = read.length === all.length && read.every((id, i) => id === all[i]) && read.every((id, i) => i === 0 || BigInt(id) > BigInt(read[i - 1]!));
  } finally {
    await c.end();
    await db.drop();
  }
  return figures;
};

// Run directly: node dist/bench/event-log.js
if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchEventLog({ quick: process.argv.includes('--quick') });
  for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k}: ${v}\n`);
}
