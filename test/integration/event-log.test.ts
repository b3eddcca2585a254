/**
 * The membership event log and one subscriber's stream, below GraphQL: the ordering
 * guarantee (reading below the oldest running transaction, docs/events.md) that makes
 * `id > last` polling and `after` replay gap-free without a writer lock, actors, refused
 * use cases appending nothing, slow consumers, and releasing an idle stream.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { appendEvents, type NewMembershipEvent, readEventsAfter } from '../../src/domain/events/event-log.js';
import { openEventStream } from '../../src/domain/events/event-stream.js';
import { DomainError } from '../../src/domain/model/index.js';
import type { Database } from '../../src/persistence/orm.js';
import { rows } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { eventually, ids, lastEventId, strictlyIncreasing } from '../kit/events.js';

let other: Database; // a second handle = a second pool of connections
const gw = useGateway();
beforeAll(async () => {
  other = await gw.t.open();
  // The viewer streams below stream only organizations that accept their (operator) session.
  await rows(gw, `insert into organizations (id, name, created_at, updated_at) values ('org-log', 'Log', now(), now())`);
});

const OPERATOR = { operator: true, email: false, connectionIds: [] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const event = (userId: string, organizationId = 'org-log'): Omit<NewMembershipEvent, 'actor'> => ({
  type: 'ROLE_CHANGED',
  organizationId,
  userId,
  membershipId: `mem_${userId}`,
  role: 'VIEWER',
  status: 'ACTIVE',
  previousRole: 'MEMBER',
  previousStatus: 'ACTIVE',
  teamIds: null,
  previousTeamIds: null,
});

/** Every committed event's id, once all of them are readable. */
const allIds = async (filter: { organizationId?: string; userId?: string } = {}): Promise<string[]> => {
  await lastEventId(gw);
  return ids(await readEventsAfter(gw.t.db.em(), { after: '0', limit: 100_000, ...filter }));
};

/**
 * Polls `id > last` until `stop()` is true and a final read returns nothing; records
 * every id it saw, in order. A skipped id is one that became visible below `last`.
 */
type Read = (after: string, organizationId: string) => Promise<{ id: string }[]>;
const safeRead: Read = (after, organizationId) => readEventsAfter(gw.t.db.em(), { after, organizationId, limit: 1000 });
/** What a reader without the horizon would do: every committed row with a higher id. */
const naiveRead: Read = (after, organizationId) =>
  rows<{ id: string }>(gw, 'select id::text as id from membership_events where id > ? and organization_id = ? order by id', [after, organizationId]);

const poller = (organizationId: string, read: Read = safeRead) => {
  const seen: string[] = [];
  let stopping = false;
  const done = (async () => {
    let last = '0';
    for (;;) {
      const wasStopping = stopping;
      const page = await read(last, organizationId);
      for (const e of page) {
        seen.push(e.id);
        last = e.id;
      }
      if (wasStopping && page.length === 0) return;
      await sleep(1);
    }
  })();
  return {
    seen,
    stop: async () => {
      await lastEventId(gw); // from here an empty read means the reader has everything
      stopping = true;
      await done;
    },
  };
};

describe('ordering guarantee', () => {
  test('many concurrent appending transactions: a reader polling id > last never skips an id that later becomes visible', async () => {
    const organizationId = 'org-concurrent';
    const reader = poller(organizationId);
    const handles = [gw.t.db, other];
    // 80 transactions over two pools (10 connections); each appends 1-3 events and keeps
    // working (holding its ids uncommitted) for a random while afterwards.
    await Promise.all(
      Array.from({ length: 80 }, async (_, i) => {
        await sleep(Math.random() * 30);
        await handles[i % 2]!.em().transactional(async (em) => {
          const n = 1 + (i % 3);
          await appendEvents(
            em as never,
            Array.from({ length: n }, (_, k) => ({ ...event(`usr_${i}_${k}`, organizationId), actor: 'system' })),
            new Date(),
          );
          await em.execute('select pg_sleep(?)', [Math.random() * 0.01]);
        });
      }),
    );
    await reader.stop();
    const committed = await allIds({ organizationId });
    expect(committed).toHaveLength(Array.from({ length: 80 }, (_, i) => 1 + (i % 3)).reduce((a, b) => a + b));
    expect(reader.seen).toEqual(committed);
    expect(strictlyIncreasing(reader.seen)).toBe(true);
  });

  test('deterministic interleaving: an earlier id committing late does not make T2 wait, and is not skipped by the reader (it would be without the horizon)', async () => {
    // T1 appends (its transaction id, so its event id, is lower) and stays open; T2 appends and commits first.
    const runScenario = async (organizationId: string, read: Read) => {
      const reader = poller(organizationId, read);
      let t1Inserted!: () => void;
      const t1HasId = new Promise<void>((r) => (t1Inserted = r));
      const append = (em: any, userId: string) => appendEvents(em, [{ ...event(userId, organizationId), actor: 'system' }], new Date());
      let seenWhileOpen: string[] = [];
      let t2Committed!: () => void;
      const t2Done = new Promise<void>((r) => (t2Committed = r));
      const t1 = gw.t.db.em().transactional(async (em) => {
        await append(em, 'usr_t1');
        t1Inserted();
        await t2Done;
        await sleep(100); // still uncommitted while the reader polls
        seenWhileOpen = [...reader.seen];
      });
      await t1HasId;
      await other.em().transactional(async (em) => append(em, 'usr_t2'));
      t2Committed();
      await t1;
      await sleep(50);
      await reader.stop();
      return { seen: reader.seen, seenWhileOpen, committed: await allIds({ organizationId }) };
    };

    const naive = await runScenario('org-naive', naiveRead);
    expect(naive.committed).toHaveLength(2);
    // The reader saw T2's (higher) id first and moved past T1's: T1's event was skipped.
    expect(naive.seen).toEqual([naive.committed[1]]);

    const safe = await runScenario('org-safe', safeRead);
    expect(safe.committed).toHaveLength(2);
    // T2 committed without waiting for T1, but its event was not read while T1 was open.
    expect(safe.seenWhileOpen).toEqual([]);
    expect(safe.seen).toEqual(safe.committed);
    expect(strictlyIncreasing(safe.seen)).toBe(true);
  });
});

describe('appending through a use case', () => {
  test('every event carries the actor of its use case', async () => {
    const tx = gw.container.tx;
    const actors = [
      [{ kind: 'user', userId: 'usr_a' }, 'user:usr_a'],
      [{ kind: 'saml', connectionId: 'sc_1' }, 'saml:sc_1'],
      [{ kind: 'scim', tokenId: 'st_1' }, 'scim:st_1'],
      [{ kind: 'jit', connectionId: 'sc_2' }, 'jit:sc_2'],
      [{ kind: 'cli' }, 'cli'],
      [{ kind: 'system' }, 'system'],
    ] as const;
    for (const [actor] of actors) await tx.run(actor, async (uow) => uow.recordEvent(event('usr_actor', 'org-actors')));
    await lastEventId(gw);
    const read = await readEventsAfter(gw.t.db.em(), { after: '0', organizationId: 'org-actors', limit: 100 });
    expect(read.map((r) => r.actor)).toEqual(actors.map(([, s]) => s));
    const [blank] = await rows<{ n: number }>(gw, `select count(*)::int as n from membership_events where coalesce(actor, '') = ''`);
    expect(blank!.n).toBe(0);
  });

  test('a refused or failed use case appends nothing and counts nothing', async () => {
    const tx = gw.container.tx;
    const counter = async () => (await gw.container.metrics.eventsPublished.get()).values[0]?.value ?? 0;
    const before = { log: await allIds(), published: await counter() };
    await expect(
      tx.run({ kind: 'system' }, async (uow) => {
        uow.recordEvent(event('usr_refused'));
        throw new DomainError('FORBIDDEN', 'no');
      }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // Fails after the events were written (inside the transaction): rolled back with it.
    await expect(
      tx.run({ kind: 'system' }, async (uow) => {
        uow.recordEvent(event('usr_failed'));
        await uow.finish();
        await uow.em.execute('select 1/0');
      }),
    ).rejects.toThrow();
    expect(await allIds()).toEqual(before.log);
    expect(await counter()).toBe(before.published);

    await tx.run({ kind: 'system' }, async (uow) => {
      uow.recordEvent(event('usr_ok'));
      uow.recordEvent(event('usr_ok2'));
    });
    expect((await allIds()).length).toBe(before.log.length + 2);
    expect(await counter()).toBe(before.published + 2);
  });
});

describe('one subscriber stream', () => {
  const appendFor = (userId: string, n: number) =>
    Promise.all(Array.from({ length: n }, () => gw.container.tx.run({ kind: 'system' }, async (uow) => uow.recordEvent(event(userId))))).then(() => undefined);

  test('a slow consumer whose buffer overflows catches up from the log: bounded memory, no gap, no duplicate', async () => {
    const hub = gw.container.events;
    const stream = await openEventStream(hub, () => gw.t.db.em(), { userId: 'usr_slow', scope: OPERATOR, maxBuffered: 3, pageSize: 4 });
    await appendFor('usr_slow', 25);
    await hub.settle();
    expect(stream.buffered).toBeLessThanOrEqual(3);

    const got: string[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await stream.next();
      expect(r.done).toBe(false);
      got.push(r.value!.id);
      if (i === 10) {
        await appendFor('usr_slow', 10); // more arrive while it is behind
        await hub.settle();
        expect(stream.buffered).toBeLessThanOrEqual(3);
      }
    }
    for (let i = 0; i < 10; i++) got.push((await stream.next()).value!.id);
    expect(got).toEqual(await allIds({ userId: 'usr_slow' }));
    expect(strictlyIncreasing(got)).toBe(true);

    // Back to live.
    const next = stream.next();
    await appendFor('usr_slow', 1);
    expect((await next).value!.id).toBe((await allIds({ userId: 'usr_slow' })).at(-1));
    await stream.return();
  });

  test('return() ends an idle stream at once, releasing its hub listener', async () => {
    const hub = gw.container.events;
    const listeners = hub.subscriberCount;
    const stream = await openEventStream(hub, () => gw.t.db.em(), { userId: 'usr_idle', scope: OPERATOR });
    expect(hub.subscriberCount).toBe(listeners + 1);
    const pending = stream.next(); // waits for an event that never comes
    const started = Date.now();
    await stream.return();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(Date.now() - started).toBeLessThan(100);
    expect(hub.subscriberCount).toBe(listeners);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  test('after beyond the latest id, or not an id, is refused before listening', async () => {
    const hub = gw.container.events;
    const listeners = hub.subscriberCount;
    for (const after of ['x', '1e3', '999999999999999999']) {
      await expect(openEventStream(hub, () => gw.t.db.em(), { userId: 'usr_x', scope: OPERATOR, after })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    expect(hub.subscriberCount).toBe(listeners);
  });

  test('live only: events committed before subscribing are not sent, every later one is', async () => {
    const hub = gw.container.events;
    await appendFor('usr_live', 3);
    const stream = await openEventStream(hub, () => gw.t.db.em(), { userId: 'usr_live', scope: OPERATOR });
    const before = await allIds({ userId: 'usr_live' });
    await appendFor('usr_live', 2);
    const got = [(await stream.next()).value!.id, (await stream.next()).value!.id];
    const all = await allIds({ userId: 'usr_live' });
    expect(got).toEqual(all.slice(before.length));
    await eventually(() => expect(stream.buffered).toBe(0));
    await stream.return();
  });
});
