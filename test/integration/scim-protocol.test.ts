/**
 * The SCIM protocol surface over HTTP: the "bad input" list (each refused with the right
 * RFC 7644 error, nothing changed), discovery that matches behaviour, content types and
 * limits, cross-organization isolation, and events reaching GraphQL subscribers.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { SCIM_TABLES, snapshot } from '../kit/db.js';
import { take, useGateway } from '../kit/gateway.js';
import { ENTERPRISE, events, expectScimError, GROUP, LIST, newUser, PATCH_OP, patchOp, scimClient, scimFetch, USER } from '../kit/scim.js';
import { uniqueEmail } from '../kit/world.js';

let a: Awaited<ReturnType<typeof scimClient>>;
let userA: string;
let groupA: string;
const gw = useGateway();
beforeAll(async () => {
  a = await scimClient(gw);
  userA = (await a.post('/Users', newUser(uniqueEmail('a')))).body.id;
  groupA = (await a.post('/Groups', { schemas: [GROUP], displayName: 'A team', members: [{ value: userA }] })).body.id;
});

const q = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}`;

describe('bad input: the right error, and nothing changed', () => {
  test.each([
    ['malformed JSON', 'POST', '/Users', '{"schemas": ["' + USER + '"], "userName": ', 400, 'invalidSyntax'],
    ['malformed JSON in PATCH', 'PATCH', '/Users/{user}', '{"Operations": [', 400, 'invalidSyntax'],
    ['a JSON array instead of an object', 'POST', '/Users', '[]', 400, 'invalidSyntax'],
    ['an empty body', 'POST', '/Users', '', 400, 'invalidSyntax'],
    ['a wrong schema URN', 'POST', '/Users', { ...newUser('wrong@example.com'), schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'] }, 400, 'invalidSyntax'],
    ['an unknown schema URN next to the right one', 'POST', '/Users', { ...newUser('wrong2@example.com'), schemas: [USER, 'urn:example:custom'] }, 400, 'invalidSyntax'],
    ['no schemas', 'POST', '/Groups', { displayName: 'x' }, 400, 'invalidSyntax'],
    ['a wrong PATCH schema URN', 'PATCH', '/Users/{user}', { schemas: [USER], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }, 400, 'invalidSyntax'],
    ['PATCH without Operations', 'PATCH', '/Users/{user}', { schemas: [PATCH_OP] }, 400, 'invalidValue'],
    ['an unknown attribute in a body', 'POST', '/Users', newUser('unknown@example.com', { shoeSize: 44 }), 400, 'invalidSyntax'],
    ['a non-empty unsupported attribute (roles)', 'POST', '/Users', newUser('roles@example.com', { roles: [{ value: 'admin' }] }), 400, 'invalidSyntax'],
    ['an unknown sub-attribute', 'POST', '/Users', newUser('sub@example.com', { name: { nickname: 'x' } }), 400, 'invalidSyntax'],
    ['a value of the wrong type', 'POST', '/Users', newUser('type@example.com', { active: 'maybe' }), 400, 'invalidValue'],
    ['a string where an object is expected', 'POST', '/Users', newUser('type2@example.com', { emails: 'type2@example.com' }), 400, 'invalidValue'],
    ['two primary emails', 'POST', '/Users', newUser('p@example.com', { emails: [{ value: 'p@example.com', primary: true }, { value: 'q@example.com', primary: true }] }), 400, 'invalidValue'],
    ['an unknown attribute path', 'PATCH', '/Users/{user}', patchOp({ op: 'replace', path: 'shoeSize', value: 44 }), 400, 'invalidPath'],
    ['an unknown sub-attribute path', 'PATCH', '/Users/{user}', patchOp({ op: 'replace', path: 'name.nickname', value: 'x' }), 400, 'invalidPath'],
    ['an unknown attribute in a path-less PATCH', 'PATCH', '/Users/{user}', patchOp({ op: 'replace', value: { title: 'ok', shoeSize: 44 } }), 400, 'invalidPath'],
    ['a PATCH value of the wrong type', 'PATCH', '/Users/{user}', patchOp({ op: 'replace', path: 'active', value: 'perhaps' }), 400, 'invalidValue'],
    ['a read-only attribute', 'PATCH', '/Users/{user}', patchOp({ op: 'add', path: 'groups', value: [{ value: 'ugr-x' }] }), 400, 'mutability'],
    ['removing userName', 'PATCH', '/Users/{user}', patchOp({ op: 'remove', path: 'userName' }), 400, 'mutability'],
    ['a filter that does not parse', 'GET', q('userName eq'), undefined, 400, 'invalidFilter'],
    ['a filter with an unbalanced parenthesis', 'GET', q('(userName eq "x"'), undefined, 400, 'invalidFilter'],
    ['an unsupported filter operator', 'GET', q('userName co "x"'), undefined, 400, 'invalidFilter'],
    ['a filter on an unsupported attribute', 'GET', q('title eq "x"'), undefined, 400, 'invalidFilter'],
    ['a filter on an unknown attribute', 'GET', q('shoeSize eq "44"'), undefined, 400, 'invalidFilter'],
    ['a filter comparing with a number', 'GET', q('userName eq 42'), undefined, 400, 'invalidFilter'],
    ['not()', 'GET', q('not (userName eq "x")'), undefined, 400, 'invalidFilter'],
    ['count above the maximum', 'GET', '/Users?count=501', undefined, 400, 'tooMany'],
    ['count above the maximum on Groups', 'GET', '/Groups?count=10000', undefined, 400, 'tooMany'],
    ['a count that is not a number', 'GET', '/Users?count=ten', undefined, 400, 'invalidValue'],
    ['a repeated parameter', 'GET', '/Users?count=1&count=2', undefined, 400, 'invalidValue'],
    ['an unknown attribute in attributes=', 'GET', '/Users?attributes=userName,shoeSize', undefined, 400, 'invalidPath'],
  ] as const)('%s → %s %s %s', async (_name, method, rawPath, body, status, scimType) => {
    const path = rawPath.replace('{user}', userA);
    const before = await snapshot(gw, SCIM_TABLES);
    const r = await a.request(method, path, body);
    expectScimError(r, status, scimType);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });

  test('a body over the SCIM limit → 413; a content type other than JSON → 415; nothing changed', async () => {
    const before = await snapshot(gw, SCIM_TABLES);
    const big = newUser('big@example.com', { title: 'x'.repeat(1024 * 1024 + 10) });
    expectScimError(await a.post('/Users', big), 413, null);
    expectScimError(await a.request('POST', '/Users', 'userName=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, null);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });

  test('application/json is accepted as well as application/scim+json (with charset)', async () => {
    const r1 = await a.request('POST', '/Users', newUser(uniqueEmail('json')), { 'content-type': 'application/json' });
    expect(r1.status, r1.text).toBe(201);
    const r2 = await a.request('POST', '/Users', newUser(uniqueEmail('charset')), { 'content-type': 'application/scim+json; charset=utf-8' });
    expect(r2.status, r2.text).toBe(201);
  });

  test('unknown endpoints are 404 and unsupported features 501, as RFC 7644 errors', async () => {
    expectScimError(await a.get('/Widgets'), 404, null);
    expectScimError(await a.post('/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] }), 501, null);
    expectScimError(await a.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] }), 501, null);
    expectScimError(await a.get('/Me'), 501, null);
  });
});

describe('discovery describes exactly what is supported', () => {
  test('ServiceProviderConfig', async () => {
    const r = await a.get('/ServiceProviderConfig');
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/scim+json; charset=utf-8');
    expect(r.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 500 },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken', primary: true })],
    });
    // maxResults is the enforced limit.
    expect((await a.get('/Users?count=500')).status).toBe(200);
    expect((await a.get('/Users?count=501')).status).toBe(400);
  });

  test('ResourceTypes and Schemas', async () => {
    const rt = await a.get('/ResourceTypes');
    expect(rt.body).toMatchObject({ schemas: [LIST], totalResults: 2 });
    expect(rt.body.Resources.map((r: { id: string; endpoint: string }) => [r.id, r.endpoint])).toEqual([
      ['User', '/Users'],
      ['Group', '/Groups'],
    ]);
    expect((await a.get('/ResourceTypes/User')).body.schemaExtensions).toEqual([{ schema: ENTERPRISE, required: false }]);
    expectScimError(await a.get('/ResourceTypes/Device'), 404, null);
    const s = await a.get('/Schemas');
    expect(s.body.Resources.map((x: { id: string }) => x.id)).toEqual([USER, ENTERPRISE, GROUP]);
    const user = await a.get(`/Schemas/${USER}`);
    const names = user.body.attributes.map((x: { name: string }) => x.name);
    expect(names).toEqual(expect.arrayContaining(['userName', 'name', 'displayName', 'active', 'emails', 'groups']));
    expect(names).not.toContain('password');
    expect(names).not.toContain('roles');
    const userName = user.body.attributes.find((x: { name: string }) => x.name === 'userName');
    expect(userName).toMatchObject({ type: 'string', required: true, caseExact: false, uniqueness: 'server', mutability: 'readWrite' });
    expect(user.body.attributes.find((x: { name: string }) => x.name === 'groups').mutability).toBe('readOnly');
  });

  test('every writable attribute /Schemas lists is accepted and returned', async () => {
    const schemas = (await a.get('/Schemas')).body.Resources as { id: string; attributes: { name: string; type: string; multiValued: boolean; mutability: string; subAttributes?: any[] }[] }[];
    const sample = (attr: { name: string; type: string; multiValued: boolean; subAttributes?: any[] }): unknown => {
      const one =
        attr.type === 'complex'
          ? Object.fromEntries(attr.subAttributes!.filter((s) => s.mutability !== 'readOnly').map((s) => [s.name, sample({ ...s, multiValued: false })]))
          : attr.type === 'boolean'
            ? true
            : attr.name === 'value' || attr.name === 'userName'
              ? uniqueEmail('all')
              : `v-${attr.name}`;
      return attr.multiValued ? [one] : one;
    };
    const body: Record<string, unknown> = { schemas: [USER, ENTERPRISE] };
    for (const s of schemas.filter((x) => x.id === USER || x.id === ENTERPRISE)) {
      const target: Record<string, unknown> = s.id === USER ? body : ((body[ENTERPRISE] = {}) as Record<string, unknown>);
      for (const attr of s.attributes.filter((x) => x.mutability !== 'readOnly')) target[attr.name] = sample(attr);
    }
    const r = await a.post('/Users', body);
    expect(r.status, r.text).toBe(201);
    const got = (await a.get(`/Users/${r.body.id}`)).body;
    for (const [k, v] of Object.entries(body)) if (k !== 'schemas') expect(got[k], k).toEqual(v);
  });
});

describe('cross-organization isolation', () => {
  test("a token of organization B can neither see nor change A's users and groups, even by id; nothing in A changes", async () => {
    const b = await scimClient(gw);
    const before = await snapshot(gw, SCIM_TABLES);
    const userName = (await a.get(`/Users/${userA}`)).body.userName;
    expect((await b.get('/Users')).body.Resources.map((u: { id: string }) => u.id)).not.toContain(userA);
    expect((await b.get(q(`userName eq "${userName}"`))).body.totalResults).toBe(0);
    expect((await b.get(q(`id eq "${userA}"`))).body.totalResults).toBe(0);
    expectScimError(await b.get(`/Users/${userA}`), 404, null);
    expectScimError(await b.put(`/Users/${userA}`, newUser(userName)), 404, null);
    expectScimError(await b.patch(`/Users/${userA}`, patchOp({ op: 'replace', path: 'active', value: false })), 404, null);
    expectScimError(await b.del(`/Users/${userA}`), 404, null);
    expect((await b.get('/Groups')).body.Resources.map((g: { id: string }) => g.id)).not.toContain(groupA);
    expectScimError(await b.get(`/Groups/${groupA}`), 404, null);
    expectScimError(await b.put(`/Groups/${groupA}`, { schemas: [GROUP], displayName: 'pwned' }), 404, null);
    expectScimError(await b.patch(`/Groups/${groupA}`, patchOp({ op: 'remove', path: 'members' })), 404, null);
    expectScimError(await b.del(`/Groups/${groupA}`), 404, null);
    expectScimError(await b.post('/Groups', { schemas: [GROUP], displayName: 'steal', members: [{ value: userA }] }), 400, 'invalidValue');
    const after = await snapshot(gw, SCIM_TABLES);
    expect(after.memberships).toEqual(before.memberships);
    expect(after.teams).toEqual(before.teams);
    expect(after.team_members).toEqual(before.team_members);
    expect(after.scim_users).toEqual(before.scim_users);
    expect(after.membership_events).toEqual(before.membership_events);
  });

  test("the same person provisioned by two organizations: each sees its own userName, externalId and attributes", async () => {
    const b = await scimClient(gw);
    const email = uniqueEmail('both');
    const inA = await a.post('/Users', newUser(email, { userName: 'a-name', externalId: 'a-ext', title: 'A title' }));
    const inB = await b.post('/Users', newUser(email, { userName: 'b-name', externalId: 'b-ext', title: 'B title' }));
    expect(inB.body.id).toBe(inA.body.id);
    expect((await a.get(`/Users/${inA.body.id}`)).body).toMatchObject({ userName: 'a-name', externalId: 'a-ext', title: 'A title' });
    expect((await b.get(`/Users/${inA.body.id}`)).body).toMatchObject({ userName: 'b-name', externalId: 'b-ext', title: 'B title' });
    await b.patch(`/Users/${inA.body.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
    expect((await a.get(`/Users/${inA.body.id}`)).body.active).toBe(true);
  });
});

describe('events', () => {
  test('SCIM changes reach GraphQL subscribers as membership events with actor scim:<tokenId>', async () => {
    const client = gw.ws(a.admin.token);
    const sub = take<any>(
      client,
      'subscription($o: ID) { membershipChanged(organizationId: $o) { type actor userId status teamIds } }',
      { o: a.orgId },
      3,
    );
    await new Promise((r) => setTimeout(r, 300));
    const u = (await a.post('/Users', newUser(uniqueEmail('live')))).body.id;
    await a.patch(`/Users/${u}`, patchOp({ op: 'replace', path: 'active', value: 'False' }));
    await a.patch(`/Groups/${groupA}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] }));
    await sub.done;
    expect(sub.errors).toEqual([]);
    expect(sub.values.map((v) => [v.membershipChanged.type, v.membershipChanged.actor, v.membershipChanged.userId])).toEqual([
      ['JOINED', `scim:${a.tokenId}`, u],
      ['STATUS_CHANGED', `scim:${a.tokenId}`, u],
      ['TEAMS_CHANGED', `scim:${a.tokenId}`, u],
    ]);
    expect((await events(gw, a.orgId)).filter((e) => e.user_id === u).every((e) => e.actor === `scim:${a.tokenId}`)).toBe(true);
    sub.unsubscribe();
  });
});

test('responses are application/scim+json everywhere, errors included', async () => {
  for (const r of [await a.get('/Users'), await a.get('/Users/nope'), await scimFetch(gw, null, 'GET', '/Users'), await a.get('/Schemas')])
    expect(r.contentType).toBe('application/scim+json; charset=utf-8');
});

test('SCIM requests are measured in orgway_operation_duration_seconds (transport="scim")', async () => {
  await a.get('/Users?count=1');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  expect(metrics).toMatch(/orgway_operation_duration_seconds_count\{transport="scim",operation="GET \/Users",outcome="ok"\} \d+/);
  expect(metrics).toMatch(/orgway_operation_duration_seconds_count\{transport="scim",operation="GET \/Users\/:id",outcome="error"\} \d+/);
});
