/** SCIM tokens: GraphQL create / revoke / list (ORG_ADMIN only), hashed storage, and 401s with RFC 7644 bodies. */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { rows, SCIM_TABLES, snapshot } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { CREATE_TOKEN, expectScimError, LIST_TOKENS, REVOKE_TOKEN, scimClient, scimFetch } from '../kit/scim.js';
import { addMember, type Admin, refused } from '../kit/world.js';

let admin: Admin;
const gw = useGateway();
beforeAll(async () => {
  admin = await gw.bootstrap();
});

describe('createScimToken', () => {
  test('returns the secret once; stores only its SHA-256; lists without secrets', async () => {
    const r = await gw.gql<any>(CREATE_TOKEN, { o: admin.orgId, n: '  Okta  ' }, admin.token);
    expect(r.errors).toBeUndefined();
    const { token, scimToken } = r.data.createScimToken;
    expect(token).toMatch(/^ogwscim_[A-Za-z0-9_-]{43}$/);
    expect(scimToken).toMatchObject({ name: 'Okta', revokedAt: null, createdByUserId: admin.userId });
    const found = await rows<Record<string, unknown>>(gw, 'select * from scim_tokens where id = ?', [scimToken.id]);
    expect(found[0]!.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(found)).not.toContain(token.slice(8));
    const list = await gw.gql<any>(LIST_TOKENS, { o: admin.orgId }, admin.token);
    expect(list.errors).toBeUndefined();
    expect(list.data.organization.scimTokens[0]).toEqual({ id: scimToken.id, name: 'Okta', createdAt: scimToken.createdAt, revokedAt: null });
    // The schema has no field that could carry a secret.
    const probe = await gw.gql<any>(`query($o: ID!) { organization(id: $o) { scimTokens { token } } }`, { o: admin.orgId }, admin.token);
    expect(probe.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('refused for non-admins (FORBIDDEN), non-members (NOT_FOUND), anonymous (UNAUTHENTICATED), bad names (BAD_USER_INPUT); nothing changed', async () => {
    const member = await addMember(gw, admin, 'ADMIN');
    const stranger = await gw.bootstrap();
    const before = await snapshot(gw, SCIM_TABLES);
    expect(refused(await gw.gql(CREATE_TOKEN, { o: admin.orgId, n: 'x' }, member.token)).code).toBe('FORBIDDEN');
    expect(refused(await gw.gql(CREATE_TOKEN, { o: admin.orgId, n: 'x' }, stranger.token)).code).toBe('NOT_FOUND');
    expect(refused(await gw.gql(CREATE_TOKEN, { o: admin.orgId, n: 'x' })).code).toBe('UNAUTHENTICATED');
    expect(refused(await gw.gql(CREATE_TOKEN, { o: admin.orgId, n: '   ' }, admin.token)).code).toBe('BAD_USER_INPUT');
    expect(refused(await gw.gql(CREATE_TOKEN, { o: admin.orgId, n: 'x'.repeat(101) }, admin.token)).code).toBe('BAD_USER_INPUT');
    const listed = await gw.gql<any>(LIST_TOKENS, { o: admin.orgId }, member.token);
    expect(listed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });
});

describe('revokeScimToken and 401s', () => {
  test('at most 20 unrevoked tokens per organization: the 21st is CONFLICT and stores nothing; revoking one makes room', async () => {
    const a = await gw.bootstrap();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await gw.gql<any>(CREATE_TOKEN, { o: a.orgId, n: `t${i}` }, a.token);
      expect(r.errors).toBeUndefined();
      ids.push(r.data.createScimToken.scimToken.id);
    }
    const before = await snapshot(gw, SCIM_TABLES);
    const over = await gw.gql<any>(CREATE_TOKEN, { o: a.orgId, n: 'one too many' }, a.token);
    expect(over.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(over.errors?.[0]?.message).toMatch(/revoke one first/);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
    expect((await gw.gql<any>(REVOKE_TOKEN, { o: a.orgId, t: ids[0] }, a.token)).errors).toBeUndefined();
    expect((await gw.gql<any>(CREATE_TOKEN, { o: a.orgId, n: 'room again' }, a.token)).errors).toBeUndefined();
  });

  test('a revoked token gets 401 with an RFC 7644 body at once; revoking again keeps the first time', async () => {
    const c = await scimClient(gw, admin);
    expect((await c.get('/Users')).status).toBe(200);
    const r = await gw.gql<any>(REVOKE_TOKEN, { o: admin.orgId, t: c.tokenId }, admin.token);
    expect(r.errors).toBeUndefined();
    expect(r.data.revokeScimToken.revokedAt).toBeTruthy();
    const res = await c.get('/Users');
    expectScimError(res, 401, null);
    expect(res.body.detail).toMatch(/revoked/);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const again = await gw.gql<any>(REVOKE_TOKEN, { o: admin.orgId, t: c.tokenId }, admin.token);
    expect(again.data.revokeScimToken.revokedAt).toBe(r.data.revokeScimToken.revokedAt);
    const list = await gw.gql<any>(LIST_TOKENS, { o: admin.orgId }, admin.token);
    expect(list.data.organization.scimTokens.find((t: { id: string }) => t.id === c.tokenId).revokedAt).toBe(r.data.revokeScimToken.revokedAt);
  });

  test("revoking an unknown token or another organization's token is NOT_FOUND, and it keeps working", async () => {
    const other = await scimClient(gw);
    expect(refused(await gw.gql(REVOKE_TOKEN, { o: admin.orgId, t: other.tokenId }, admin.token)).code).toBe('NOT_FOUND');
    expect(refused(await gw.gql(REVOKE_TOKEN, { o: admin.orgId, t: 'scimtok_nope' }, admin.token)).code).toBe('NOT_FOUND');
    expect((await other.get('/Users')).status).toBe(200);
  });

  test.each([
    ['no Authorization header', undefined],
    ['a non-Bearer scheme', 'Basic dXNlcjpwYXNz'],
    ['an unknown token', `Bearer ogwscim_${'A'.repeat(43)}`],
    ['a malformed token', 'Bearer hello'],
  ])('%s → 401, RFC 7644 body, on every endpoint', async (_name, header) => {
    for (const [method, path] of [
      ['GET', '/Users'],
      ['POST', '/Users'],
      ['GET', '/Groups/x'],
      ['GET', '/ServiceProviderConfig'],
      ['GET', '/NoSuchThing'],
    ] as const) {
      const r = await scimFetch(gw, null, method, path, method === 'POST' ? {} : undefined, header ? { authorization: header } : {});
      expectScimError(r, 401, null);
    }
  });

  test('session and API tokens are not SCIM tokens, and a SCIM token is not a GraphQL credential', async () => {
    expectScimError(await scimFetch(gw, admin.token, 'GET', '/Users'), 401, null);
    const c = await scimClient(gw, admin);
    const r = await gw.gql<any>('{ viewer { user { id } } }', {}, c.token);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
