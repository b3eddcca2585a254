/**
 * SCIM POST /Users of a new identity is three statements (token, one
 * read, one write that is its own transaction), on real PostgreSQL. Races end with one
 * 201 and refusals, nothing half-written; the events keep the log's ordering guarantee.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { appendEvents, latestEventId, readEventsAfter } from '../../src/domain/events/event-log.js';
import { rows } from '../kit/db.js';
import { eventually, lastEventId } from '../kit/events.js';
import { useGateway } from '../kit/gateway.js';
import { ENTERPRISE, events, expectScimError, newUser, type ScimResponse, scimClient, USER } from '../kit/scim.js';
import { uniqueEmail } from '../kit/world.js';

let a: Awaited<ReturnType<typeof scimClient>>;
const gw = useGateway();
beforeAll(async () => {
  a = await scimClient(gw);
});

const withStatements = async <T>(fn: () => Promise<T>): Promise<{ result: T; statements: string[] }> => {
  const statements: string[] = [];
  // The hub's read after the commit's notification, the notification itself and every poll
  // are the gateway's background work, not the request's, and may land inside the window.
  const stop = gw.container.db.observeStatements((sql, from) => {
    if (!from.background) statements.push(sql);
  });
  try {
    return { result: await fn(), statements };
  } finally {
    stop();
  }
};

/** The event id sequence: not transactional, so an id drawn by an uncommitted statement shows. */
/** The newest event id readers can see (below the log's horizon). */
const readableLastEventId = () => latestEventId(gw.t.db.em());

const eventsPublished = async () => (await gw.container.metrics.eventsPublished.get()).values[0]?.value ?? 0;

/** Everything a create writes, for one userName in organization `orgId`. */
const written = async (orgId: string, userName: string) => {
  const scim = await rows<{ membership_id: string }>(gw, 'select membership_id from scim_users where organization_id = ? and user_name_key = ?', [orgId, userName.toLowerCase()]);
  const memberships = await rows<{ id: string; user_id: string }>(gw, 'select id, user_id from memberships where id in (select membership_id from scim_users where organization_id = ? and user_name_key = ?)', [
    orgId,
    userName.toLowerCase(),
  ]);
  const joined = await rows(gw, "select id from membership_events where type = 'JOINED' and membership_id in (select membership_id from scim_users where organization_id = ? and user_name_key = ?)", [
    orgId,
    userName.toLowerCase(),
  ]);
  return { scim, memberships, joined };
};

describe('a new identity', () => {
  test('three statements: the token, one read, one write (no begin/commit); the body is what GET returns', async () => {
    const email = uniqueEmail('lean');
    const published = await eventsPublished();
    const body = newUser(email, { externalId: 'ext-lean', title: 'Engineer', [ENTERPRISE]: { department: 'R&D' }, schemas: [USER, ENTERPRISE] });
    const { result: r, statements } = await withStatements(() => a.post('/Users', body));
    expect(r.status, r.text).toBe(201);
    expect(statements.length, statements.join('\n---\n')).toBeLessThanOrEqual(3);
    expect(statements.some((s) => /^\s*(begin|commit|start transaction)/i.test(s))).toBe(false);
    expect(await eventsPublished()).toBe(published + 1);

    const got = await a.get(`/Users/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(r.body).toEqual(got.body);
    expect(r.body).toMatchObject({ userName: email, externalId: 'ext-lean', active: true, title: 'Engineer', [ENTERPRISE]: { department: 'R&D' } });
    const [m] = await rows(gw, 'select role, status, source from memberships where organization_id = ? and user_id = ?', [a.orgId, r.body.id]);
    expect(m).toEqual({ role: 'MEMBER', status: 'STAGED', source: 'SCIM' });
    const ev = (await events(gw, a.orgId)).filter((e) => e.user_id === r.body.id);
    expect(ev.map((e) => [e.type, e.status, e.previous_status, e.team_ids, e.actor])).toEqual([['JOINED', 'STAGED', null, [], `scim:${a.tokenId}`]]);
  });

  test('active: false is the same one write: DISABLED, with JOINED then STATUS_CHANGED', async () => {
    const email = uniqueEmail('lean-off');
    const { result: r, statements } = await withStatements(() => a.post('/Users', newUser(email, { active: false })));
    expect(r.status, r.text).toBe(201);
    expect(statements.length, statements.join('\n---\n')).toBeLessThanOrEqual(3);
    expect(r.body.active).toBe(false);
    expect(r.body).toEqual((await a.get(`/Users/${r.body.id}`)).body);
    const ev = (await events(gw, a.orgId)).filter((e) => e.user_id === r.body.id);
    expect(ev.map((e) => [e.type, e.status, e.previous_status])).toEqual([
      ['JOINED', 'STAGED', null],
      ['STATUS_CHANGED', 'DISABLED', 'STAGED'],
    ]);
  });

  test('a name derived from name.formatted and no emails (userName is the email) round-trips the same way', async () => {
    const email = uniqueEmail('lean-min');
    const r = await a.post('/Users', { schemas: [USER], userName: email, name: { formatted: 'Ada Lovelace' } });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ displayName: 'Ada Lovelace', emails: [{ value: email, primary: true, type: 'work' }] });
    expect(r.body).toEqual((await a.get(`/Users/${r.body.id}`)).body);
  });
});

describe('races', () => {
  const race = (n: number, body: (i: number) => unknown) => Promise.all(Array.from({ length: n }, (_, i) => a.post('/Users', body(i))));
  const oneCreated = (results: ScimResponse[]) => {
    const created = results.filter((r) => r.status === 201);
    expect(created, results.map((r) => `${r.status} ${r.text}`).join('\n')).toHaveLength(1);
    for (const r of results) if (r.status !== 201) expectScimError(r, 409, 'uniqueness');
    return created[0]!;
  };

  test('8 creates of one userName with different emails: one 201, seven 409 uniqueness; one user, membership, SCIM row and JOINED event', async () => {
    const userName = `race-${uniqueEmail('name')}`;
    const emails = Array.from({ length: 8 }, () => uniqueEmail('racer'));
    const winner = oneCreated(await race(8, (i) => newUser(emails[i]!, { userName })));
    const w = await written(a.orgId, userName);
    expect(w.scim).toHaveLength(1);
    expect(w.memberships).toEqual([{ id: w.scim[0]!.membership_id, user_id: winner.body.id }]);
    expect(w.joined).toHaveLength(1);
    // The losers' users were not written either.
    const users = await rows(gw, 'select email from users where email in (select jsonb_array_elements_text(?::jsonb))', [JSON.stringify(emails)]);
    expect(users).toEqual([{ email: winner.body.emails[0].value }]);
  });

  test('8 creates of one externalId: one 201, seven 409 uniqueness', async () => {
    const externalId = `ext-${uniqueEmail('race')}`;
    const winner = oneCreated(await race(8, () => newUser(uniqueEmail('ext'), { externalId })));
    expect((await rows(gw, 'select membership_id from scim_users where organization_id = ? and external_id = ?', [a.orgId, externalId])).length).toBe(1);
    expect(winner.body.externalId).toBe(externalId);
  });

  test('8 creates of one email: one 201, seven 409 uniqueness; one user, membership, SCIM row and JOINED event', async () => {
    const email = uniqueEmail('race-email');
    oneCreated(await race(8, () => newUser(email)));
    expect(await rows(gw, 'select id from users where email = ?', [email])).toHaveLength(1);
    const w = await written(a.orgId, email);
    expect(w.scim).toHaveLength(1);
    expect(w.memberships).toHaveLength(1);
    expect(w.joined).toHaveLength(1);
  });

  test('one new email created at once by two organizations: both 201, one identity linked to both', async () => {
    const b = await scimClient(gw);
    for (let round = 0; round < 5; round++) {
      const email = uniqueEmail(`two-orgs-${round}`);
      const [ra, rb] = await Promise.all([a.post('/Users', newUser(email)), b.post('/Users', newUser(email))]);
      expect(ra.status, ra.text).toBe(201);
      expect(rb.status, rb.text).toBe(201);
      expect(ra.body.id).toBe(rb.body.id);
      const ms = await rows<{ organization_id: string }>(gw, 'select organization_id from memberships where user_id = ? order by organization_id', [ra.body.id]);
      expect(ms.map((m) => m.organization_id)).toEqual([a.orgId, b.orgId].sort());
    }
  });
});

test('the write does not wait for an older open transaction that appended; its event becomes readable after that one, with a higher id', async () => {
  // T1 appends and stays open; the create commits meanwhile, but readers see neither event until T1 ends.
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let t1Appended!: () => void;
  const appended = new Promise<void>((r) => (t1Appended = r));
  const other = await gw.t.open();
  try {
    const t1 = other.em().transactional(async (em) => {
      await appendEvents(em as never, [
        { type: 'ROLE_CHANGED', organizationId: 'org-lock', userId: 'usr_t1', membershipId: 'mem_t1', actor: 'system', role: 'VIEWER', status: 'ACTIVE', previousRole: 'MEMBER', previousStatus: 'ACTIVE', teamIds: null, previousTeamIds: null },
      ], new Date());
      t1Appended();
      await released;
    });
    await appended;
    // Settled: every event committed before T1 readable (another database's transaction on this
    // cluster may hold the horizon back for a moment), so only T1 holds it from here on.
    const before = await lastEventId(gw);
    const email = uniqueEmail('behind-lock');
    const r = await a.post('/Users', newUser(email));
    expect(r.status, r.text).toBe(201);
    // Committed, but behind T1's older transaction: not yet readable.
    expect(await rows(gw, 'select id from users where email = ?', [email])).toHaveLength(1);
    expect(await readableLastEventId()).toBe(before);
    release();
    await t1;
    // (Another transaction in the same cluster may hold the horizon back a moment.)
    let held: { id: string } | undefined;
    let joined: { id: string } | undefined;
    await eventually(async () => {
      [held] = await readEventsAfter(gw.t.db.em(), { after: before, organizationId: 'org-lock', limit: 10 });
      [joined] = await readEventsAfter(gw.t.db.em(), { after: before, organizationId: a.orgId, userId: r.body.id, limit: 10 });
      expect(held && joined).toBeTruthy();
    });
    expect(BigInt(held!.id)).toBeGreaterThan(BigInt(before));
    expect(BigInt(joined!.id)).toBeGreaterThan(BigInt(held!.id));
    await eventually(async () => expect(await readableLastEventId()).toBe(joined!.id));
  } finally {
    release();
    await other.close();
  }
});
