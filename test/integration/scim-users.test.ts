/** SCIM Users over HTTP on a real gateway: CRUD, statuses, linking, mutability, filters, paging, projection, events. */
import { beforeAll, describe, expect, test } from 'vitest';
import { rows, SCIM_TABLES, snapshot } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { ENTERPRISE, events, expectScimError, LIST, newUser, patchOp, type ScimClient, scimClient, USER } from '../kit/scim.js';
import { STAGE, uniqueEmail } from '../kit/world.js';

let a: Awaited<ReturnType<typeof scimClient>>;
const gw = useGateway();
beforeAll(async () => {
  a = await scimClient(gw);
});

const create = async (c: ScimClient, email = uniqueEmail('scim'), extra: Record<string, unknown> = {}) => {
  const r = await c.post('/Users', newUser(email, extra));
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string; userName: string; [k: string]: any };
};

const membership = async (orgId: string, userId: string) =>
  (await rows<{ role: string; status: string; source: string }>(gw, 'select role, status, source from memberships where organization_id = ? and user_id = ?', [orgId, userId]))[0];

describe('POST /Users', () => {
  test('creates a STAGED membership (source SCIM, default role) and returns the User with 201, Location and scim+json', async () => {
    const email = uniqueEmail('create');
    const r = await a.post('/Users', newUser(email, { externalId: 'ext-create-1', title: 'Engineer', [ENTERPRISE]: { department: 'R&D' }, schemas: [USER, ENTERPRISE] }));
    expect(r.status, r.text).toBe(201);
    expect(r.contentType).toBe('application/scim+json; charset=utf-8');
    const u = r.body;
    expect(r.headers.get('location')).toBe(`http://127.0.0.1:4000/scim/v2/Users/${u.id}`);
    expect(u).toMatchObject({
      schemas: [USER, ENTERPRISE],
      userName: email,
      externalId: 'ext-create-1',
      displayName: 'Test User',
      active: true,
      title: 'Engineer',
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: email, type: 'work' }],
      [ENTERPRISE]: { department: 'R&D' },
      meta: { resourceType: 'User', location: `http://127.0.0.1:4000/scim/v2/Users/${u.id}` },
    });
    expect(u.meta.created).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await membership(a.orgId, u.id)).toEqual({ role: 'MEMBER', status: 'STAGED', source: 'SCIM' });
    const ev = (await events(gw, a.orgId)).filter((e) => e.user_id === u.id);
    expect(ev.map((e) => [e.type, e.status, e.actor])).toEqual([['JOINED', 'STAGED', `scim:${a.tokenId}`]]);
  });

  test('active: false on create → STAGED then DISABLED (two events)', async () => {
    const u = await create(a, uniqueEmail('inactive'), { active: false });
    expect(u.active).toBe(false);
    expect((await membership(a.orgId, u.id))!.status).toBe('DISABLED');
    const ev = (await events(gw, a.orgId)).filter((e) => e.user_id === u.id);
    expect(ev.map((e) => [e.type, e.status])).toEqual([
      ['JOINED', 'STAGED'],
      ['STATUS_CHANGED', 'DISABLED'],
    ]);
  });

  test('an email existing through another organization links that identity: no second user, STAGED here, shared attributes untouched', async () => {
    const b = await scimClient(gw);
    const email = uniqueEmail('linked');
    const inB = await create(b, email);
    const before = await snapshot(gw, SCIM_TABLES);
    const r = await a.post('/Users', newUser(email.toUpperCase(), { displayName: 'Other Name', userName: `ALIAS-${email}` }));
    expect(r.status, r.text).toBe(201);
    expect(r.body.id).toBe(inB.id);
    expect(r.body.displayName).toBe('Test User'); // the shared one, not the one sent
    expect(r.body.userName).toBe(`ALIAS-${email}`);
    const after = await snapshot(gw, SCIM_TABLES);
    expect(after.users).toHaveLength(before.users!.length);
    expect(await membership(a.orgId, inB.id)).toEqual({ role: 'MEMBER', status: 'STAGED', source: 'SCIM' });
    expect((await membership(b.orgId, inB.id))!.status).toBe('STAGED');
  });

  test('an identity that belongs to no organization any more is linked and may be named by SCIM', async () => {
    const email = uniqueEmail('orphan');
    await rows(gw, "insert into users (id, email, display_name, created_at, updated_at) values ('usr_orphan_1', ?, 'Old Name', now(), now())", [email]);
    const r = await a.post('/Users', newUser(email, { displayName: 'New Name' }));
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ id: 'usr_orphan_1', displayName: 'New Name' });
  });

  test('a user already in this organization is 409 uniqueness (by email, userName, externalId); nothing changed', async () => {
    const email = uniqueEmail('dup');
    const u = await create(a, email, { externalId: 'ext-dup' });
    const before = await snapshot(gw, SCIM_TABLES);
    expectScimError(await a.post('/Users', newUser(email)), 409, 'uniqueness');
    expectScimError(await a.post('/Users', newUser(uniqueEmail('x'), { userName: email.toUpperCase() })), 409, 'uniqueness');
    const byExt = await a.post('/Users', newUser(uniqueEmail('y'), { externalId: 'ext-dup' }));
    expectScimError(byExt, 409, 'uniqueness');
    expect(byExt.body.detail).toContain(u.id);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });

  test('a member added by GraphQL counts with its email as userName (409, and found by filter)', async () => {
    const email = uniqueEmail('graphql');
    const r = await gw.gql<any>(STAGE, { o: a.orgId, e: email }, a.admin.token);
    expect(r.errors).toBeUndefined();
    expectScimError(await a.post('/Users', newUser(email)), 409, 'uniqueness');
    const found = await a.get(`/Users?filter=${encodeURIComponent(`userName eq "${email.toUpperCase()}"`)}`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0]).toMatchObject({ id: r.data.stageUser.user.id, userName: email, emails: [{ value: email, primary: true, type: 'work' }] });
  });

  test('userName that is not an email and no emails → 400 invalidValue; missing userName → 400 invalidValue', async () => {
    const before = await snapshot(gw, SCIM_TABLES);
    expectScimError(await a.post('/Users', { schemas: [USER], userName: 'no-email-here' }), 400, 'invalidValue');
    expectScimError(await a.post('/Users', { schemas: [USER], emails: [{ value: uniqueEmail(), primary: true }] }), 400, 'invalidValue');
    expectScimError(await a.post('/Users', newUser('not-an-email', { emails: [{ value: 'nope', primary: true }] })), 400, 'invalidValue');
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });
});

describe('GET /Users', () => {
  test('by id; unknown id and another organization\'s user are 404', async () => {
    const u = await create(a);
    const r = await a.get(`/Users/${u.id}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: u.id, userName: u.userName });
    expectScimError(await a.get('/Users/usr_doesnotexist'), 404, null);
  });

  test('filters: userName (case-insensitive), externalId (exact), emails.value, emails[value eq], id, and/or', async () => {
    const e1 = uniqueEmail('f1');
    const e2 = uniqueEmail('f2');
    const u1 = await create(a, e1, { externalId: 'X-F1' });
    const u2 = await create(a, e2, { externalId: 'X-F2', emails: [{ value: e2, primary: true }, { value: `alt.${e2}`, type: 'home' }] });
    const ids = async (filter: string) => {
      const r = await a.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.schemas).toEqual([LIST]);
      return (r.body.Resources as { id: string }[]).map((x) => x.id).sort();
    };
    expect(await ids(`userName eq "${e1.toUpperCase()}"`)).toEqual([u1.id]);
    expect(await ids(`UserName Eq "${e1}"`)).toEqual([u1.id]);
    expect(await ids(`${USER}:userName eq "${e1}"`)).toEqual([u1.id]);
    expect(await ids('externalId eq "X-F1"')).toEqual([u1.id]);
    expect(await ids('externalId eq "x-f1"')).toEqual([]);
    expect(await ids(`emails.value eq "alt.${e2}"`)).toEqual([u2.id]);
    expect(await ids(`emails[value eq "${e2}"]`)).toEqual([u2.id]);
    expect(await ids(`id eq "${u2.id}"`)).toEqual([u2.id]);
    expect(await ids(`userName eq "${e1}" or externalId eq "X-F2"`)).toEqual([u1.id, u2.id].sort());
    expect(await ids(`userName eq "${e1}" and externalId eq "X-F2"`)).toEqual([]);
    expect(await ids(`(userName eq "${e1}" or userName eq "${e2}") and externalId eq "X-F2"`)).toEqual([u2.id]);
    const none = await a.get(`/Users?filter=${encodeURIComponent('userName eq "nobody@example.com"')}`);
    expect(none.body).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });

  test('paging with startIndex/count walks every user exactly once; totalResults is the whole set', async () => {
    const c = await scimClient(gw);
    for (let i = 0; i < 7; i++) await create(c);
    const seen: string[] = [];
    for (let start = 1; ; start += 3) {
      const r = await c.get(`/Users?startIndex=${start}&count=3`);
      expect(r.body.totalResults).toBe(8); // 7 + the bootstrap ORG_ADMIN
      expect(r.body.startIndex).toBe(start);
      if (r.body.Resources.length === 0) break;
      expect(r.body.itemsPerPage).toBe(r.body.Resources.length);
      seen.push(...r.body.Resources.map((x: { id: string }) => x.id));
    }
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
    const zero = await c.get('/Users?count=0');
    expect(zero.body).toMatchObject({ totalResults: 8, itemsPerPage: 0, Resources: [] });
    const clamped = await c.get('/Users?startIndex=-4&count=2');
    expect(clamped.body).toMatchObject({ startIndex: 1, itemsPerPage: 2 });
  });

  test('attributes / excludedAttributes (id and schemas always returned)', async () => {
    const u = await create(a, uniqueEmail('proj'), { [ENTERPRISE]: { department: 'Ops', costCenter: 'CC1' }, schemas: [USER, ENTERPRISE] });
    const only = await a.get(`/Users/${u.id}?attributes=userName,name.givenName,${ENTERPRISE}:department`);
    expect(only.body).toEqual({ schemas: [USER, ENTERPRISE], id: u.id, userName: u.userName, name: { givenName: 'Test' }, [ENTERPRISE]: { department: 'Ops' } });
    const without = await a.get(`/Users/${u.id}?excludedAttributes=emails,meta,id`);
    expect(without.body.emails).toBeUndefined();
    expect(without.body.meta).toBeUndefined();
    expect(without.body.id).toBe(u.id);
    expect(without.body.userName).toBe(u.userName);
    const list = await a.get(`/Users?filter=${encodeURIComponent(`id eq "${u.id}"`)}&attributes=USERNAME`);
    expect(list.body.Resources).toEqual([{ schemas: [USER, ENTERPRISE], id: u.id, userName: u.userName }]);
    expectScimError(await a.get(`/Users/${u.id}?attributes=shoeSize`), 400, 'invalidPath');
  });
});

describe('PUT /Users/{id}', () => {
  test('replaces the per-organization attributes; active omitted leaves the status', async () => {
    const u = await create(a, uniqueEmail('put'), { title: 'Old', nickName: 'Nick' });
    const r = await a.put(`/Users/${u.id}`, { schemas: [USER], userName: u.userName, emails: u.emails, displayName: 'Test User', name: { givenName: 'New' } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.title).toBeUndefined();
    expect(r.body.nickName).toBeUndefined();
    expect(r.body.name).toEqual({ givenName: 'New' });
    expect(r.body.active).toBe(true);
  });

  test('a single-organization user may change email and display name (shared identity)', async () => {
    const u = await create(a);
    const email = uniqueEmail('renamed');
    const r = await a.put(`/Users/${u.id}`, newUser(email, { userName: u.userName, displayName: 'Renamed' }));
    expect(r.status, r.text).toBe(200);
    const row = (await rows<{ email: string; display_name: string }>(gw, 'select email, display_name from users where id = ?', [u.id]))[0];
    expect(row).toEqual({ email, display_name: 'Renamed' });
  });

  test('for a user who belongs to another organization too, changing email or displayName is 400 mutability; other attributes change', async () => {
    const b = await scimClient(gw);
    const email = uniqueEmail('shared');
    const u = await create(b, email);
    await create(a, email);
    const before = await snapshot(gw, SCIM_TABLES);
    const r1 = await a.put(`/Users/${u.id}`, newUser(uniqueEmail('elsewhere'), { userName: email }));
    expectScimError(r1, 400, 'mutability');
    expect(r1.body.detail).toMatch(/other organizations/);
    expectScimError(await a.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Hijacked' })), 400, 'mutability');
    expectScimError(await a.patch(`/Users/${u.id}`, patchOp({ op: 'Replace', path: 'emails[type eq "work"].value', value: uniqueEmail('hijack') })), 400, 'mutability');
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
    const ok = await a.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'Only here' }, { op: 'replace', path: 'displayName', value: 'Test User' }));
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.title).toBe('Only here');
    expect((await b.get(`/Users/${u.id}`)).body.title).toBeUndefined();
  });

  test('changing the email to one another user has is 409 uniqueness', async () => {
    const taken = await create(a);
    const u = await create(a);
    expectScimError(await a.put(`/Users/${u.id}`, newUser(taken.userName, { userName: u.userName })), 409, 'uniqueness');
  });
});

describe('PATCH /Users/{id}: active ↔ status', () => {
  test('active false → DISABLED; true → STAGED (never ACTIVE); repeats change nothing; events carry scim:<tokenId>', async () => {
    const u = await create(a);
    const off = await a.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
    expect(off.status, off.text).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await membership(a.orgId, u.id))!.status).toBe('DISABLED');
    const again = await a.patch(`/Users/${u.id}`, patchOp({ op: 'replace', value: { active: false } }));
    expect(again.status).toBe(200);
    const on = await a.patch(`/Users/${u.id}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }));
    expect(on.body.active).toBe(true);
    expect((await membership(a.orgId, u.id))!.status).toBe('STAGED');
    const ev = (await events(gw, a.orgId)).filter((e) => e.user_id === u.id);
    expect(ev.map((e) => [e.type, e.previous_status, e.status, e.actor])).toEqual([
      ['JOINED', null, 'STAGED', `scim:${a.tokenId}`],
      ['STATUS_CHANGED', 'STAGED', 'DISABLED', `scim:${a.tokenId}`],
      ['STATUS_CHANGED', 'DISABLED', 'STAGED', `scim:${a.tokenId}`],
    ]);
  });

  test('an ACTIVE member stays ACTIVE on active: true; disabling the last ORG_ADMIN is refused', async () => {
    const before = await snapshot(gw, SCIM_TABLES);
    const r = await a.patch(`/Users/${a.admin.userId}`, patchOp({ op: 'replace', path: 'active', value: true }));
    expect(r.status, r.text).toBe(200);
    expect((await membership(a.orgId, a.admin.userId))!.status).toBe('ACTIVE');
    const off = await a.patch(`/Users/${a.admin.userId}`, patchOp({ op: 'replace', path: 'active', value: false }));
    expectScimError(off, 409, null);
    expect(off.body.detail).toMatch(/ORG_ADMIN/);
    const after = await snapshot(gw, SCIM_TABLES);
    expect(after.memberships).toEqual(before.memberships);
    expect(after.membership_events).toEqual(before.membership_events);
  });

  test('paths: name.familyName, emails[type eq "work"].value, enterprise attributes, add/remove', async () => {
    const u = await create(a, uniqueEmail('paths'));
    const email = uniqueEmail('newmail');
    const r = await a.patch(
      `/Users/${u.id}`,
      patchOp(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: email },
        { op: 'Replace', path: 'name.familyName', value: 'Changed' },
        { op: 'Add', path: `${ENTERPRISE}:employeeNumber`, value: '42' },
        { op: 'Replace', path: `${ENTERPRISE}:manager`, value: 'mgr-1' },
        { op: 'remove', path: 'name.givenName' },
      ),
    );
    expect(r.status, r.text).toBe(200);
    expect(r.body.emails).toEqual([{ primary: true, value: email, type: 'work' }]);
    expect(r.body.name).toEqual({ familyName: 'Changed' });
    expect(r.body[ENTERPRISE]).toEqual({ employeeNumber: '42', manager: { value: 'mgr-1' } });
    expect(r.body.schemas).toEqual([USER, ENTERPRISE]);
    const row = (await rows<{ email: string }>(gw, 'select email from users where id = ?', [u.id]))[0];
    expect(row!.email).toBe(email);
  });

  test('userName and externalId change and are found by filter afterwards; conflicts are 409', async () => {
    const other = await create(a, uniqueEmail('other'), { externalId: 'taken-ext' });
    const u = await create(a);
    const r = await a.patch(`/Users/${u.id}`, patchOp({ op: 'replace', value: { userName: 'renamed.user', externalId: 'new-ext' } }));
    expect(r.status, r.text).toBe(200);
    const found = await a.get(`/Users?filter=${encodeURIComponent('userName eq "RENAMED.USER" and externalId eq "new-ext"')}`);
    expect(found.body.Resources.map((x: { id: string }) => x.id)).toEqual([u.id]);
    expectScimError(await a.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'externalId', value: 'taken-ext' })), 409, 'uniqueness');
    expectScimError(await a.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'userName', value: other.userName })), 409, 'uniqueness');
  });
});

describe('DELETE /Users/{id}', () => {
  test('removes the membership and team memberships here; the user stays while another organization has it', async () => {
    const b = await scimClient(gw);
    const email = uniqueEmail('del');
    const u = await create(a, email);
    await create(b, email);
    const g = await a.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Del team', members: [{ value: u.id }] });
    expect(g.status, g.text).toBe(201);
    const r = await a.del(`/Users/${u.id}`);
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(await membership(a.orgId, u.id)).toBeUndefined();
    expect((await a.get(`/Groups/${g.body.id}`)).body.members).toEqual([]);
    expect((await b.get(`/Users/${u.id}`)).status).toBe(200);
    expectScimError(await a.get(`/Users/${u.id}`), 404, null);
    const ev = (await events(gw, a.orgId)).filter((e) => e.user_id === u.id).map((e) => e.type);
    expect(ev).toEqual(['JOINED', 'TEAMS_CHANGED', 'LEFT']);
    const left = await b.del(`/Users/${u.id}`);
    expect(left.status).toBe(204);
    const users = await rows(gw, 'select id from users where id = ?', [u.id]);
    expect(users).toEqual([]);
  });

  test('unknown user → 404; the last ORG_ADMIN → 409; nothing changed', async () => {
    const before = await snapshot(gw, SCIM_TABLES);
    expectScimError(await a.del('/Users/usr_nope'), 404, null);
    expectScimError(await a.del(`/Users/${a.admin.userId}`), 409, null);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });
});

describe('concurrency', () => {
  test('the same new user POSTed 8 times at once: one 201, the others 409 uniqueness, one user', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(Array.from({ length: 8 }, () => a.post('/Users', newUser(email))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 201)) expectScimError(r, 409, 'uniqueness');
    const found = await rows(gw, 'select id from users where email = ?', [email]);
    expect(found).toHaveLength(1);
  });

  test('concurrent PATCHes of one user do not lose updates (the member row is locked)', async () => {
    const u = await create(a);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => a.patch(`/Users/${u.id}`, patchOp({ op: 'add', path: 'phoneNumbers', value: [{ value: `+1555000${i}`, type: 'work' }] }))),
    );
    for (const r of results) expect(r.status, r.text).toBe(200);
    const phones = (await a.get(`/Users/${u.id}`)).body.phoneNumbers.map((p: { value: string }) => p.value).sort();
    expect(phones).toEqual(Array.from({ length: 10 }, (_, i) => `+1555000${i}`).sort());
  });
});
