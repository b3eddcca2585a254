/**
 * Bad input at the GraphQL edge: each refused argument gets the spec's code and a
 * message that says what to fix, and changes nothing (rows and membership events).
 * Also createOrganization's happy path (the caller becomes ORG_ADMIN) and its conflicts.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { MEMBERSHIP_TABLES, snapshot } from '../kit/db.js';
import { eventsAfter, lastEventId } from '../kit/events.js';
import { useGateway } from '../kit/gateway.js';
import { type Admin, ok, refused, STAGE, INVITE } from '../kit/world.js';

let a: Admin;
const gw = useGateway();
beforeAll(async () => {
  a = await gw.bootstrap('Bad Input Inc');
});

/** Asserts the one error's code, that its message matches, and that no table changed. */
const rejects = async (code: string, message: RegExp, query: string, variables: Record<string, unknown> = {}, token: string | null = a.token) => {
  const before = await snapshot(gw, MEMBERSHIP_TABLES);
  const e = refused(await gw.gql(query, variables, token));
  expect(e.code, e.message).toBe(code);
  expect(e.message).toMatch(message);
  expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
  return e;
};

const CREATE_ORG = `mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) {
  id name viewerMembership { role status source permissions } automaticUserAccess { enabled defaultRole allowedDomains }
} }`;
const SET_AUA = `mutation($o: ID!, $i: AutomaticUserAccessInput!) { setAutomaticUserAccess(organizationId: $o, input: $i) {
  id automaticUserAccess { enabled defaultRole allowedDomains }
} }`;

describe('email addresses', () => {
  const BAD = ['not-an-email', 'a@b', 'two@@example.com', 'sp ace@example.com', '@example.com', 'user@', '', '   ', `${'x'.repeat(250)}@example.com`];
  test.each(BAD)('stageUser and inviteUser refuse %j: BAD_USER_INPUT on email, nothing changed', async (email) => {
    for (const q of [STAGE, INVITE]) {
      const e = await rejects('BAD_USER_INPUT', /^email: .*is not a valid email address \(expected name@example\.com\)/, q, { o: a.orgId, e: email });
      expect(e.extensions.field).toBe('email');
    }
  });

  test('is checked before access, so it leaks nothing about the organization', async () => {
    await rejects('BAD_USER_INPUT', /^email:/, STAGE, { o: 'no-such-org', e: 'nope' });
  });
});

describe('createOrganization', () => {
  test('makes the caller ORG_ADMIN (ACTIVE, MANUAL) with a generated id, appending JOINED', async () => {
    const after = await lastEventId(gw);
    const org = ok(await gw.gql<any>(CREATE_ORG, { i: { name: '  Fresh Org  ' } }, a.token)).createOrganization;
    expect(org.id).toMatch(/^org_[0-9a-z]+$/);
    expect(org.name).toBe('Fresh Org');
    expect(org.viewerMembership).toMatchObject({ role: 'ORG_ADMIN', status: 'ACTIVE', source: 'MANUAL' });
    expect(org.viewerMembership.permissions).toContain('members:manage');
    expect(org.automaticUserAccess).toEqual({ enabled: false, defaultRole: 'MEMBER', allowedDomains: [] });
    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'JOINED', organization_id: org.id, user_id: a.userId, actor: `user:${a.userId}`, role: 'ORG_ADMIN', status: 'ACTIVE' });
    // The new organization is listed and manageable.
    const listed = ok(await gw.gql<any>('{ viewer { organizations { edges { node { id } membership { role } } } } }', {}, a.token));
    expect(listed.viewer.organizations.edges.find((e: any) => e.node.id === org.id).membership.role).toBe('ORG_ADMIN');
    ok(await gw.gql(STAGE, { o: org.id, e: 'first.member@example.com' }, a.token));
  });

  test('takes a given id; a taken id is CONFLICT, nothing changed', async () => {
    const org = ok(await gw.gql<any>(CREATE_ORG, { i: { id: 'acme-EU_1', name: 'Acme EU' } }, a.token)).createOrganization;
    expect(org.id).toBe('acme-EU_1');
    const e = await rejects('CONFLICT', /"acme-EU_1" is taken; choose another id or leave it out/, CREATE_ORG, { i: { id: 'acme-EU_1', name: 'Other' } });
    expect(e.extensions.field).toBe('id');
    // Also when the taken id belongs to an organization the caller is not a member of.
    const other = await gw.bootstrap();
    await rejects('CONFLICT', /is taken/, CREATE_ORG, { i: { id: other.orgId, name: 'Squat' } });
  });

  test.each([['has space'], ['dots.not.allowed'], ['x'.repeat(65)], [''], ['ümlaut'], ['a/b']])('a bad id %j is BAD_USER_INPUT naming the pattern', async (id) => {
    const e = await rejects('BAD_USER_INPUT', /^id: .*is not a valid organization id: use 1–64 letters, digits, "_" or "-"/, CREATE_ORG, { i: { id, name: 'X' } });
    expect(e.extensions.field).toBe('id');
  });

  test.each([[''], ['   '], ['x'.repeat(201)]])('a bad name %j is BAD_USER_INPUT', async (name) => {
    await rejects('BAD_USER_INPUT', /^name: must (not be empty|be at most 200 characters)/, CREATE_ORG, { i: { name } });
  });
});

describe('setAutomaticUserAccess', () => {
  test('stores the settings (domains trimmed, lower-cased, de-duplicated, sorted); no membership event', async () => {
    const after = await lastEventId(gw);
    const r = ok(
      await gw.gql<any>(SET_AUA, { o: a.orgId, i: { enabled: true, defaultRole: 'VIEWER', allowedDomains: [' Example.COM ', '@sub.example.org', 'example.com'] } }, a.token),
    );
    expect(r.setAutomaticUserAccess.automaticUserAccess).toEqual({ enabled: true, defaultRole: 'VIEWER', allowedDomains: ['example.com', 'sub.example.org'] });
    const read = ok(await gw.gql<any>('query($o: ID!) { organization(id: $o) { automaticUserAccess { enabled defaultRole allowedDomains } } }', { o: a.orgId }, a.token));
    expect(read.organization.automaticUserAccess).toEqual(r.setAutomaticUserAccess.automaticUserAccess);
    // Defaults: MEMBER, every domain.
    const d = ok(await gw.gql<any>(SET_AUA, { o: a.orgId, i: { enabled: false } }, a.token));
    expect(d.setAutomaticUserAccess.automaticUserAccess).toEqual({ enabled: false, defaultRole: 'MEMBER', allowedDomains: [] });
    expect(await eventsAfter(gw, after)).toEqual([]);
  });

  test('ORG_ADMIN as the default role is BAD_USER_INPUT naming the roles allowed', async () => {
    const e = await rejects('BAD_USER_INPUT', /^input\.defaultRole: ORG_ADMIN cannot be granted automatically; use one of ADMIN, MEMBER, VIEWER, NO_ACCESS/, SET_AUA, {
      o: a.orgId,
      i: { enabled: true, defaultRole: 'ORG_ADMIN' },
    });
    expect(e.extensions).toMatchObject({ field: 'input.defaultRole', allowed: ['ADMIN', 'MEMBER', 'VIEWER', 'NO_ACCESS'] });
  });

  test.each([['not a domain'], ['exa_mple.com'], ['localhost'], ['-x.example.com'], ['x..com'], ['example.c'], ['http://example.com'], ['']])(
    'a bad domain %j is BAD_USER_INPUT on input.allowedDomains',
    async (domain) => {
      await rejects('BAD_USER_INPUT', /^input\.allowedDomains: .*is not a domain name \(expected e\.g\. example\.com\)/, SET_AUA, {
        o: a.orgId,
        i: { enabled: true, allowedDomains: ['good.example.com', domain] },
      });
    },
  );

  test('more than 100 domains is BAD_USER_INPUT', async () => {
    const many = Array.from({ length: 101 }, (_, i) => `d${i}.example.com`);
    await rejects('BAD_USER_INPUT', /^input\.allowedDomains: at most 100 domains/, SET_AUA, { o: a.orgId, i: { enabled: true, allowedDomains: many } });
  });
});

describe('teams', () => {
  test('an empty team name is BAD_USER_INPUT', async () => {
    await rejects('BAD_USER_INPUT', /name: must not be empty/, `mutation($o: ID!) { createTeam(organizationId: $o, input: { name: "  " }) { id } }`, { o: a.orgId });
  });

  test('an unknown team is NOT_FOUND naming it', async () => {
    await rejects('NOT_FOUND', /Team "ghost" was not found in organization/, `mutation($o: ID!) { deleteTeam(organizationId: $o, teamId: "ghost") }`, { o: a.orgId });
  });
});

describe('what the schema refuses', () => {
  test.each([
    ['an unknown role, inline', `mutation($o: ID!) { stageUser(organizationId: $o, email: "x@example.com", role: SUPERUSER) { id } }`, {}, /SUPERUSER.*OrganizationRole|OrganizationRole.*SUPERUSER/],
    ['an unknown role, as a variable', `mutation($o: ID!, $r: OrganizationRole) { stageUser(organizationId: $o, email: "x@example.com", role: $r) { id } }`, { r: 'SUPERUSER' }, /SUPERUSER/],
    ['an unknown status', `mutation($o: ID!, $u: ID!) { setMembershipStatus(organizationId: $o, userId: $u, status: DELETED) { id } }`, { u: 'usr_x' }, /DELETED/],
    ['a role in lower case', `mutation($o: ID!, $r: OrganizationRole!) { setMembershipRole(organizationId: $o, userId: "u", role: $r) { id } }`, { r: 'admin' }, /admin/],
    ['an unknown default role', `mutation($o: ID!) { setAutomaticUserAccess(organizationId: $o, input: { enabled: true, defaultRole: OWNER }) { id } }`, {}, /OWNER/],
    ['an unknown members status', `query($o: ID!) { organization(id: $o) { members(status: GONE) { totalCount } } }`, {}, /GONE/],
    ['a missing argument', `mutation($o: ID!) { stageUser(organizationId: $o) { id } }`, {}, /email/],
    ['a wrong type', `query { viewer { organizations(first: "ten") { totalCount } } }`, {}, /Int/],
    ['an unknown field', `mutation($o: ID!) { createTeam(organizationId: $o, input: { name: "x", colour: "red" }) { id } }`, {}, /colour/],
  ])('%s is BAD_USER_INPUT naming it, nothing changed', async (_label, query, vars, message) => {
    await rejects('BAD_USER_INPUT', message, query, { o: a.orgId, ...vars });
  });

  test('first above 100 is BAD_USER_INPUT, on both connections', async () => {
    await rejects('BAD_USER_INPUT', /^first: must be between 0 and 100 \(got 101\)/, '{ viewer { organizations(first: 101) { totalCount } } }');
    await rejects('BAD_USER_INPUT', /^first: must be between 0 and 100 \(got 500\)/, 'query($o: ID!) { organization(id: $o) { members(first: 500) { totalCount } } }', { o: a.orgId });
  });
});
