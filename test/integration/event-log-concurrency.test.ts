/**
 * The event log without a writer lock, hammered: many organizations written at once
 * through two gateway instances, while subscribers on both instances stop and resume with
 * `after` at random points (sometimes rewinding), and cursor readers page through the
 * whole log with `readEventsAfter`. Every subscriber's sequence must be exactly its
 * organization's log, and every cursor's exactly the whole log: no gap, no duplicate, ids
 * increasing.
 */
import { expect, test } from 'vitest';
import { readEventsAfter } from '../../src/domain/events/event-log.js';
import { openEventStream } from '../../src/domain/events/event-stream.js';
import type { Database } from '../../src/persistence/orm.js';
import { rows, useDatabase } from '../kit/db.js';
import { lastEventId, strictlyIncreasing } from '../kit/events.js';
import { useGateway } from '../kit/gateway.js';
import { SET_ROLE, STAGE, uniqueEmail } from '../kit/world.js';

const t = useDatabase();
const a = useGateway({ t, env: { ORGWAY_EVENT_POLL_MS: '500', ORGWAY_EVENT_STALL_MS: '60000' } });
const b = useGateway({ t, env: { ORGWAY_EVENT_POLL_MS: '500', ORGWAY_EVENT_STALL_MS: '60000' } });

const ORGANIZATIONS = 12;
const CHANGES_PER_ORGANIZATION = 14;
const SUBSCRIBERS_PER_ORGANIZATION = 2;
const CURSORS = 3;

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('many organizations through two instances; subscribers resuming at random points and cursors over the whole log see exactly the log', { timeout: 180_000 }, async () => {
  const start = await lastEventId(a);
  const orgs = await Promise.all(Array.from({ length: ORGANIZATIONS }, (_, i) => pick([a, b]).bootstrap(`Hammer ${i} ${Math.random().toString(36).slice(2, 6)}`)));
  let writersDone = false;
  let finalLast = '';

  // Subscribers: organization streams of the admin, on a random instance each time.
  const subscriber = async (org: (typeof orgs)[number]) => {
    const got: string[] = [];
    let after = '0';
    let rewinds = 0;
    for (let round = 0; round < 10_000; round++) {
      const gw = pick([a, b]);
      const stream = await openEventStream(gw.container.events, () => gw.t.db.em(), { userId: org.userId, organizationId: org.orgId, scope: { operator: true, email: false, connectionIds: [] }, after });
      const take = 1 + Math.floor(Math.random() * 8);
      const rewindAt = after;
      const replayed: string[] = [];
      let idle = 0;
      // A pull not yet answered stays the one to wait for (a second one would queue behind it).
      let pending: ReturnType<typeof stream.next> | undefined;
      try {
        for (let i = 0; i < take; ) {
          pending ??= stream.next();
          const next = await Promise.race([pending, sleep(150).then(() => null)]);
          if (next !== null) pending = undefined;
          if (next === null) {
            if (writersDone && got.length > 0 && got.at(-1) === (await orgLast(org.orgId))) return got;
            if (++idle > 400) throw new Error(`subscriber of ${org.orgId} stuck after ${got.length} events`);
            continue;
          }
          if (next.done) throw new Error('the stream ended');
          i++;
          const id = next.value.id;
          // After a rewind, what comes first is a replay of what was already received: it must match.
          const known = got.indexOf(id);
          if (known >= 0) {
            replayed.push(id);
            continue;
          }
          got.push(id);
          after = id;
        }
      } finally {
        await stream.return();
      }
      if (replayed.length) {
        const from = got.indexOf(replayed[0]!);
        expect(replayed, 'a replay after a rewind is the same sequence').toEqual(got.slice(from, from + replayed.length));
        expect(got[from - 1] ?? '0').toBe(rewindAt);
      }
      // Sometimes resume from an earlier point, as a client that lost its last acknowledgements.
      if (got.length > 3 && Math.random() < 0.2) {
        rewinds++;
        after = got[got.length - 1 - Math.floor(Math.random() * 3)]!;
        after = got[got.indexOf(after) - 1] ?? '0';
      }
    }
    throw new Error(`subscriber of ${org.orgId} did not finish (${got.length} events, ${rewinds} rewinds)`);
  };
  const orgLastCache = new Map<string, string>();
  const orgLast = async (orgId: string): Promise<string> => {
    if (!writersDone) return '';
    let v = orgLastCache.get(orgId);
    if (v === undefined) {
      const [row] = await rows<{ id: string }>(t, 'select coalesce(max(id), 0)::text as id from membership_events where organization_id = ?', [orgId]);
      orgLastCache.set(orgId, (v = row!.id));
    }
    return v;
  };

  // Cursor readers over the whole log (a webhook dispatcher would be one), pages of random size.
  const handles: Database[] = [a.container.db, b.container.db];
  const cursor = async () => {
    const got: string[] = [];
    let after = start;
    for (let i = 0; i < 100_000; i++) {
      const page = await readEventsAfter(pick(handles).sql, { after, limit: 1 + Math.floor(Math.random() * 40) });
      for (const e of page) got.push(e.id);
      if (page.length) after = page.at(-1)!.id;
      else if (writersDone && after === finalLast) return got;
      else await sleep(5);
    }
    throw new Error('cursor did not finish');
  };

  const subscribers = orgs.flatMap((org) => Array.from({ length: SUBSCRIBERS_PER_ORGANIZATION }, () => subscriber(org)));
  const cursors = Array.from({ length: CURSORS }, () => cursor());

  // Writers: every organization at once, each change through a random instance.
  await Promise.all(
    orgs.map(async (org) => {
      const staged: string[] = [];
      for (let i = 0; i < CHANGES_PER_ORGANIZATION; i++) {
        const gw = pick([a, b]);
        if (staged.length && Math.random() < 0.4) {
          const r = await gw.gql<any>(SET_ROLE, { o: org.orgId, u: pick(staged), r: pick(['ADMIN', 'MEMBER', 'VIEWER']) }, org.token);
          expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
        } else {
          const r = await gw.gql<any>(STAGE, { o: org.orgId, e: uniqueEmail('hammer') }, org.token);
          expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
          staged.push(r.data.stageUser.user.id);
        }
      }
    }),
  );
  finalLast = await lastEventId(a);
  writersDone = true;

  const [subscribed, read] = await Promise.all([Promise.all(subscribers), Promise.all(cursors)]);
  const logOf = async (orgId: string) =>
    (await rows<{ id: string }>(t, 'select id::text as id from membership_events where organization_id = ? order by id', [orgId])).map((r) => r.id);
  for (const [i, got] of subscribed.entries()) {
    const org = orgs[Math.floor(i / SUBSCRIBERS_PER_ORGANIZATION)]!;
    const expected = await logOf(org.orgId);
    expect(expected.length).toBeGreaterThan(CHANGES_PER_ORGANIZATION / 2); // a role set to the one it has appends nothing
    expect(got).toEqual(expected);
    expect(strictlyIncreasing(got)).toBe(true);
  }
  const whole = (await rows<{ id: string }>(t, 'select id::text as id from membership_events where id > ? order by id', [start])).map((r) => r.id);
  for (const got of read) expect(got).toEqual(whole);
});
