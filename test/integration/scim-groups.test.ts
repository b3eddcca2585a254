/** SCIM Groups = teams over HTTP: CRUD, members add/remove/replace (also by value-filter paths), SAML-sourced members kept, events. */
import { beforeAll, describe, expect, test } from 'vitest';
import { rows, SCIM_TABLES, snapshot } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { events, expectScimError, GROUP, LIST, newUser, patchOp, scimClient } from '../kit/scim.js';
import { uniqueEmail } from '../kit/world.js';

let a: Awaited<ReturnType<typeof scimClient>>;
const users: string[] = [];
const gw = useGateway();
beforeAll(async () => {
  a = await scimClient(gw);
  for (let i = 0; i < 4; i++) {
    const r = await a.post('/Users', newUser(uniqueEmail('member')));
    users.push(r.body.id);
  }
});

const group = async (body: Record<string, unknown>) => {
  const r = await a.post('/Groups', { schemas: [GROUP], ...body });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string; displayName: string; members?: { value: string }[] };
};

const memberIds = async (id: string) => ((await a.get(`/Groups/${id}`)).body.members as { value: string }[]).map((m) => m.value).sort();

const teamSources = async (teamId: string) =>
  rows<{ user_id: string; source: string }>(gw,
      'select m.user_id, tm.source from team_members tm join teams t on t.key = tm.team_key join memberships m on m.id = tm.membership_id where t.team_id = ? and t.organization_id = ? order by m.user_id',
      [teamId, a.orgId],
    );

describe('POST /Groups', () => {
  test('creates a team with members (source SCIM), 201 + Location; TEAMS_CHANGED per member with actor scim:<tokenId>', async () => {
    const g = await group({ displayName: 'Engineering', externalId: 'eng-1', members: [{ value: users[0] }, { value: users[1], display: 'x' }] });
    expect(g.id).toMatch(/^ugr-[0-9a-f]{8}$/);
    expect(g).toMatchObject({ schemas: [GROUP], displayName: 'Engineering', externalId: 'eng-1', meta: { resourceType: 'Group' } });
    expect(g.members!.map((m) => m.value).sort()).toEqual([users[0], users[1]].sort());
    expect(g.members![0]).toMatchObject({ type: 'User', $ref: expect.stringContaining('/scim/v2/Users/') });
    expect((await teamSources(g.id)).map((r) => r.source)).toEqual(['SCIM', 'SCIM']);
    const ev = (await events(gw, a.orgId)).filter((e) => e.type === 'TEAMS_CHANGED' && (e.team_ids as string[]).includes(g.id));
    expect(ev).toHaveLength(2);
    expect(ev.every((e) => e.actor === `scim:${a.tokenId}`)).toBe(true);
    // The team is visible through GraphQL too, with its externalId.
    const t = await gw.gql<any>('query($o: ID!) { organization(id: $o) { teams { id name externalId } } }', { o: a.orgId }, a.admin.token);
    expect(t.data.organization.teams).toContainEqual({ id: g.id, name: 'Engineering', externalId: 'eng-1' });
    // And as the users' groups.
    const u = await a.get(`/Users/${users[0]}`);
    expect(u.body.groups).toContainEqual(expect.objectContaining({ value: g.id, display: 'Engineering', type: 'direct' }));
  });

  test('members must be users of this organization; duplicate externalId is 409; bad displayName 400; nothing changed', async () => {
    const other = await scimClient(gw);
    const outsider = (await other.post('/Users', newUser(uniqueEmail('outsider')))).body.id;
    await group({ displayName: 'Taken', externalId: 'taken-ext' });
    const before = await snapshot(gw, SCIM_TABLES);
    const r = await a.post('/Groups', { schemas: [GROUP], displayName: 'X', members: [{ value: users[0] }, { value: outsider }] });
    expectScimError(r, 400, 'invalidValue');
    expect(r.body.detail).toContain(outsider);
    expectScimError(await a.post('/Groups', { schemas: [GROUP], displayName: 'Y', externalId: 'taken-ext' }), 409, 'uniqueness');
    expectScimError(await a.post('/Groups', { schemas: [GROUP], displayName: '  ' }), 400, 'invalidValue');
    expectScimError(await a.post('/Groups', { schemas: [GROUP], displayName: 'N', members: [{ value: users[0], type: 'Group' }] }), 400, 'invalidValue');
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });
});

describe('GET /Groups', () => {
  test('filters displayName (case-insensitive) and externalId; excludedAttributes=members; paging', async () => {
    const g = await group({ displayName: 'Filter Me', externalId: 'flt-1', members: [{ value: users[2] }] });
    const byName = await a.get(`/Groups?filter=${encodeURIComponent('displayName eq "filter me"')}&excludedAttributes=members`);
    expect(byName.body).toMatchObject({ schemas: [LIST], totalResults: 1, Resources: [{ id: g.id, displayName: 'Filter Me' }] });
    expect(byName.body.Resources[0].members).toBeUndefined();
    const byExt = await a.get(`/Groups?filter=${encodeURIComponent('externalId eq "flt-1"')}`);
    expect(byExt.body.Resources[0].members).toEqual([expect.objectContaining({ value: users[2] })]);
    const one = await a.get(`/Groups/${g.id}?excludedAttributes=members`);
    expect(one.body.members).toBeUndefined();
    expect(one.body.displayName).toBe('Filter Me');
    const all = await a.get('/Groups?count=1&startIndex=2');
    expect(all.body.itemsPerPage).toBe(1);
    expect(all.body.totalResults).toBeGreaterThanOrEqual(3);
    expectScimError(await a.get(`/Groups?filter=${encodeURIComponent('members.value eq "x"')}`), 400, 'invalidFilter');
    expectScimError(await a.get('/Groups/ugr-nope'), 404, null);
  });
});

describe('PATCH /Groups/{id}', () => {
  test('add, remove by members[value eq "…"], remove by value list, replace; op names in any case', async () => {
    const g = await group({ displayName: 'Patch me', members: [{ value: users[0] }] });
    let r = await a.patch(`/Groups/${g.id}`, patchOp({ op: 'Add', path: 'members', value: [{ value: users[1], display: 'ignored' }, { value: users[2] }] }));
    expect(r.status, r.text).toBe(200);
    expect(await memberIds(g.id)).toEqual([users[0], users[1], users[2]].sort());
    r = await a.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${users[1]}"]` }));
    expect(r.status, r.text).toBe(200);
    expect(await memberIds(g.id)).toEqual([users[0], users[2]].sort());
    r = await a.patch(`/Groups/${g.id}`, patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: users[0] }] }));
    expect(r.status, r.text).toBe(200);
    expect(await memberIds(g.id)).toEqual([users[2]]);
    r = await a.patch(`/Groups/${g.id}`, patchOp({ op: 'REPLACE', path: 'members', value: [{ value: users[3] }, { value: users[0] }] }));
    expect(r.status, r.text).toBe(200);
    expect(await memberIds(g.id)).toEqual([users[0], users[3]].sort());
    r = await a.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', value: { id: g.id, displayName: 'Renamed' } }));
    expect(r.status, r.text).toBe(200);
    expect(r.body.displayName).toBe('Renamed');
    r = await a.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members' }));
    expect(r.body.members).toEqual([]);
  });

  test('SAML-sourced team memberships are never touched; MANUAL ones follow the group', async () => {
    const g = await group({ displayName: 'Mixed', members: [{ value: users[0] }] });
    // users[1] is in the team through SAML, users[2] through an admin (rows as those paths write them).
    for (const [user, source] of [
      [users[1], 'SAML'],
      [users[2], 'MANUAL'],
    ] as const)
      await rows(gw,
        `insert into team_members (id, team_key, membership_id, source, created_at)
         select ?, t.key, m.id, ?, now() from teams t, memberships m where t.team_id = ? and t.organization_id = ? and m.user_id = ? and m.organization_id = ?`,
        [`tmm_test_${source}`, source, g.id, a.orgId, user, a.orgId],
      );
    const r = await a.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'members', value: [{ value: users[3] }] }));
    expect(r.status, r.text).toBe(200);
    expect(await teamSources(g.id)).toEqual(
      [
        { user_id: users[1], source: 'SAML' },
        { user_id: users[3], source: 'SCIM' },
      ].sort((x, y) => x.user_id!.localeCompare(y.user_id!)),
    );
    await a.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${users[1]}"]` }));
    expect((await teamSources(g.id)).map((x) => x.user_id)).toContain(users[1]);
    // Adding a member who is already in through SAML keeps the SAML source.
    await a.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[1] }] }));
    expect((await teamSources(g.id)).find((x) => x.user_id === users[1])!.source).toBe('SAML');
  });

  test('bad PATCHes: unknown path, read-only path, replace with unmatched filter (noTarget), non-member; nothing changed', async () => {
    const g = await group({ displayName: 'Strict', members: [{ value: users[0] }] });
    const before = await snapshot(gw, SCIM_TABLES);
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'owners', value: 'x' })), 400, 'invalidPath');
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'meta.created', value: 'x' })), 400, 'mutability');
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'id', value: 'ugr-other' })), 400, 'mutability');
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'members[value eq "nobody"].display', value: 'x' })), 400, 'mutability');
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'members[value eq "nobody"]', value: { value: users[1] } })), 400, 'noTarget');
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: 'usr_nobody' }] })), 400, 'invalidValue');
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'displayName' })), 400, 'mutability');
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'remove' })), 400, 'noTarget');
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members[value eq ', value: 'x' })), 400, 'invalidPath');
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'move', path: 'displayName', value: 'x' })), 400, 'invalidSyntax');
    // One bad operation among good ones: the whole PATCH is refused.
    expectScimError(await a.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'ok' }, { op: 'add', path: 'nope', value: 1 })), 400, 'invalidPath');
    expectScimError(await a.patch('/Groups/ugr-missing', patchOp({ op: 'replace', path: 'displayName', value: 'x' })), 404, null);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });
});

describe('PUT and DELETE /Groups/{id}', () => {
  test('PUT replaces displayName/externalId and members; without members they stay', async () => {
    const g = await group({ displayName: 'Put', externalId: 'put-1', members: [{ value: users[0] }] });
    let r = await a.put(`/Groups/${g.id}`, { schemas: [GROUP], displayName: 'Put 2', members: [{ value: users[1] }] });
    expect(r.status, r.text).toBe(200);
    expect(r.body.externalId).toBeUndefined();
    expect(r.body.members.map((m: { value: string }) => m.value)).toEqual([users[1]]);
    r = await a.put(`/Groups/${g.id}`, { schemas: [GROUP], displayName: 'Put 3', externalId: 'put-3' });
    expect(r.body).toMatchObject({ displayName: 'Put 3', externalId: 'put-3' });
    expect(r.body.members.map((m: { value: string }) => m.value)).toEqual([users[1]]);
  });

  test('DELETE removes the team; its members lose it (TEAMS_CHANGED); 404 after', async () => {
    const g = await group({ displayName: 'Doomed', members: [{ value: users[0] }, { value: users[1] }] });
    const r = await a.del(`/Groups/${g.id}`);
    expect(r.status).toBe(204);
    expectScimError(await a.get(`/Groups/${g.id}`), 404, null);
    expectScimError(await a.del(`/Groups/${g.id}`), 404, null);
    const ev = (await events(gw, a.orgId)).filter((e) => e.type === 'TEAMS_CHANGED' && (e.previous_team_ids as string[]).includes(g.id) && !(e.team_ids as string[]).includes(g.id));
    expect(ev.map((e) => e.user_id).sort()).toEqual([users[0], users[1]].sort());
  });
});
