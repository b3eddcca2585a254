/**
 * Organization access tokens (SPEC §4): ES256 JWTs verified with `jose` against the
 * running server's JWKS, key generation on first start shared by every instance,
 * and rotation that keeps already issued tokens verifiable.
 */
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import { beforeAll, describe, expect, test } from 'vitest';
import { createContainer } from '../../src/app/container.js';
import { loadConfig } from '../../src/config/config.js';
import { rows, useDatabase } from '../kit/db.js';
import { type Gateway, useGateway } from '../kit/gateway.js';

const ISSUER = 'http://127.0.0.1:4000';
const AUDIENCE = 'orgway-tests';
const TTL = 300;
/** The gateway's clock; tests move it forward to expire retired keys. */
const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };

const SWITCH = `mutation($o: ID!) { switchOrganization(organizationId: $o) {
  accessToken { token expiresAt organizationId } membership { role permissions } } }`;
const VIEWER_TOKEN = '{ viewer { accessToken { token expiresAt organizationId } currentMembership { role permissions } } }';

const env = { ORGWAY_ACCESS_TOKEN_TTL: String(TTL), ORGWAY_ACCESS_TOKEN_AUDIENCE: AUDIENCE, ORGWAY_PUBLIC_URL: ISSUER };
const gw = useGateway({ clock, env });
// A second gateway instance on the same database.
const second = useGateway(() => ({ t: gw.t, clock, env }));
let admin: { orgId: string; userId: string; email: string; token: string };
/** A browser session of the admin, so `sid` can be checked against a known id. */
let session: { id: string; token: string };

beforeAll(async () => {
  admin = await gw.bootstrap('Acme');
  session = await gw.container.identity.createSession(admin.userId, null, ['OPERATOR']);
});

const jwksOf = (g: Gateway) => createRemoteJWKSet(new URL(`${g.url}/.well-known/jwks.json`), { cooldownDuration: 0, cacheMaxAge: 0 });
const verify = (token: string, g: Gateway = gw) =>
  jwtVerify(token, jwksOf(g), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], currentDate: clock.now() });
const fetchJwks = async (g: Gateway = gw) => {
  const res = await fetch(`${g.url}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as { keys: Record<string, unknown>[] };
};
const switchTo = async (orgId: string, token: string) => {
  const r = await gw.gql<any>(SWITCH, { o: orgId }, token);
  expect(r.errors).toBeUndefined();
  return r.data.switchOrganization as { accessToken: { token: string; expiresAt: string; organizationId: string }; membership: { role: string; permissions: string[] } };
};

describe('claims', () => {
  test('switchOrganization returns an ES256 JWT with every claim, verifiable against the JWKS', async () => {
    const r = await switchTo(admin.orgId, session.token);
    const { token, expiresAt, organizationId } = r.accessToken;
    expect(organizationId).toBe(admin.orgId);
    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe('ES256');
    expect(header.typ).toBe('at+jwt');
    expect(header.kid).toEqual((await fetchJwks()).keys[0]!.kid);

    const { payload } = await verify(token);
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'org', 'perms', 'role', 'sid', 'sub']);
    expect(payload).toMatchObject({ iss: ISSUER, sub: admin.userId, aud: AUDIENCE, org: admin.orgId, role: 'ORG_ADMIN', sid: session.id });
    expect(payload.perms).toEqual(r.membership.permissions);
    expect(payload.perms).toContain('members:manage');
    expect(payload.exp! - payload.iat!).toBe(TTL);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(15 * 60);
    expect(Math.abs(payload.iat! * 1000 - Date.now())).toBeLessThan(10_000);
    expect(new Date(expiresAt).getTime()).toBe(payload.exp! * 1000);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('Viewer.accessToken is a token for the current organization; every token has its own jti', async () => {
    const r = await gw.gql<any>(VIEWER_TOKEN, {}, session.token);
    expect(r.errors).toBeUndefined();
    const { token, organizationId } = r.data.viewer.accessToken;
    expect(organizationId).toBe(admin.orgId);
    const { payload } = await verify(token);
    expect(payload).toMatchObject({ sub: admin.userId, org: admin.orgId, role: 'ORG_ADMIN', sid: session.id, perms: r.data.viewer.currentMembership.permissions });
    const again = await gw.gql<any>(VIEWER_TOKEN, {}, session.token);
    const { payload: p2 } = await verify(again.data.viewer.accessToken.token);
    expect(p2.jti).not.toBe(payload.jti);
  });

  test('role and perms follow the membership: team policies are included', async () => {
    const { orgId, userId, token } = await gw.bootstrap('Teams Inc');
    const team = await gw.gql<any>(
      'mutation($o: ID!) { createTeam(organizationId: $o, input: { name: "Billing", policies: ["billing:read", "billing:write"] }) { id } }',
      { o: orgId },
      token,
    );
    expect(team.errors).toBeUndefined();
    const add = await gw.gql<any>(
      'mutation($o: ID!, $t: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: $t, userIds: [$u]) { id } }',
      { o: orgId, t: team.data.createTeam.id, u: userId },
      token,
    );
    expect(add.errors).toBeUndefined();
    const r = await switchTo(orgId, token);
    const { payload } = await verify(r.accessToken.token);
    expect(payload.perms).toEqual(expect.arrayContaining(['billing:read', 'billing:write', 'members:manage']));
  });

  test('no token without a current organization, and none for a membership that cannot be entered', async () => {
    const staged = 'no-access@example.com';
    const st = await gw.gql<any>('mutation($o: ID!, $e: String!) { stageUser(organizationId: $o, email: $e, role: NO_ACCESS) { user { id } } }', { o: admin.orgId, e: staged }, admin.token);
    expect(st.errors).toBeUndefined();
    const userId: string = st.data.stageUser.user.id;
    const nowhere = await gw.container.identity.createSession(userId, null, ['OPERATOR']);
    const r1 = await gw.gql<any>(VIEWER_TOKEN, {}, nowhere.token);
    expect(r1.errors).toBeUndefined();
    expect(r1.data.viewer.accessToken).toBeNull();

    const inside = await gw.container.identity.createSession(userId, admin.orgId, ['OPERATOR']);
    const r2 = await gw.gql<any>('{ viewer { accessToken { token } } }', {}, inside.token);
    expect(r2.errors).toBeUndefined();
    expect(r2.data.viewer.accessToken).toBeNull();
    const sw = await gw.gql<any>(SWITCH, { o: admin.orgId }, inside.token);
    expect(sw.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('a tampered token, another audience or an expired token does not verify', async () => {
    const { token } = (await switchTo(admin.orgId, admin.token)).accessToken;
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as JWTPayload;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, role: 'ORG_ADMIN', org: 'someone-else' })).toString('base64url')}.${s}`;
    await expect(verify(forged)).rejects.toThrow(/signature verification failed/);
    await expect(jwtVerify(token, jwksOf(gw), { audience: 'another-service', currentDate: clock.now() })).rejects.toThrow(/aud/);
    await expect(jwtVerify(token, jwksOf(gw), { audience: AUDIENCE, currentDate: new Date(Date.now() + (TTL + 1) * 1000) })).rejects.toThrow(/exp/);
  });
});

describe('JWKS', () => {
  test('publishes public EC P-256 keys only (never the private part) with a short cache', async () => {
    const res = await fetch(`${gw.url}/.well-known/jwks.json`);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const k of keys) {
      expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(typeof k.kid).toBe('string');
      expect(Object.keys(k).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    }
  });

  test('the key is stored in the database and both instances serve the same JWKS and accept each other\u2019s tokens', async () => {
    const found = await rows<{ kid: string; private_jwk: { d?: string } }>(gw, 'select kid, private_jwk from signing_keys where retired_at is null');
    expect(found).toHaveLength(1);
    expect(typeof found[0]!.private_jwk.d).toBe('string');
    expect(await fetchJwks(second)).toEqual(await fetchJwks(gw));
    const s = await second.gql<any>(SWITCH, { o: admin.orgId }, admin.token);
    expect(s.errors).toBeUndefined();
    const token: string = s.data.switchOrganization.accessToken.token;
    expect(decodeProtectedHeader(token).kid).toBe(found[0]!.kid);
    await verify(token, gw);
    await verify(token, second);
  });
});

describe('rotation', () => {
  test('tokens issued before rotate() still verify after it; new tokens use the new kid; retired keys leave the JWKS once expired', async () => {
    const oldKid = (await fetchJwks()).keys[0]!.kid as string;
    const before = (await switchTo(admin.orgId, admin.token)).accessToken.token;
    expect(decodeProtectedHeader(before).kid).toBe(oldKid);
    await verify(before);

    const newKid = await gw.container.tokens.rotate();
    expect(newKid).not.toBe(oldKid);

    const kids = (await fetchJwks()).keys.map((k) => k.kid);
    expect(kids).toEqual([newKid, oldKid]); // newest first
    // The other instance reads the keys from the same database.
    expect((await fetchJwks(second)).keys.map((k) => k.kid)).toEqual(kids);

    const after = (await switchTo(admin.orgId, admin.token)).accessToken.token;
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    const viewer = await gw.gql<any>(VIEWER_TOKEN, {}, admin.token);
    expect(decodeProtectedHeader(viewer.data.viewer.accessToken.token).kid).toBe(newKid);
    // Old and new tokens verify against a fresh JWKS fetch, from either instance.
    await verify(before);
    await verify(after);
    await verify(before, second);

    const found = await rows<{ kid: string; retired_at: string | null; expires_at: string | null }>(gw,
      'select kid, retired_at, expires_at from signing_keys order by created_at',
    );
    expect(found.map((r) => r.kid)).toEqual([oldKid, newKid]);
    expect(found[0]!.retired_at).not.toBeNull();
    const retiredExpiry = new Date(found[0]!.expires_at!).getTime();
    // Published at least as long as the last token it signed can live.
    const { payload } = await verify(before);
    expect(retiredExpiry).toBeGreaterThanOrEqual(payload.exp! * 1000);
    expect(found[1]!.retired_at).toBeNull();
    expect(found[1]!.expires_at).toBeNull();

    // Just before the retired key expires it is still published...
    clock.offsetMs = retiredExpiry - Date.now() - 5_000;
    expect((await fetchJwks()).keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    // ...and after that it is gone, from both instances; the current key stays.
    clock.offsetMs = retiredExpiry - Date.now() + 1_000;
    expect((await fetchJwks()).keys.map((k) => k.kid)).toEqual([newKid]);
    expect((await fetchJwks(second)).keys.map((k) => k.kid)).toEqual([newKid]);
    await expect(jwtVerify(before, jwksOf(gw), { currentDate: new Date(payload.iat! * 1000) })).rejects.toThrow(/no applicable key/);
    const fresh = (await switchTo(admin.orgId, admin.token)).accessToken.token;
    await verify(fresh);

    // The next rotation deletes rows of keys that are no longer published.
    const third = await gw.container.tokens.rotate();
    const left = await rows<{ kid: string }>(gw, 'select kid from signing_keys order by created_at');
    expect(left.map((r) => r.kid)).toEqual([newKid, third]);
    clock.offsetMs = 0;
  });
});

describe('first start', () => {
  const t = useDatabase();

  test('instances starting at the same time on an empty database create exactly one key and share it', async () => {
    const config = loadConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent', ORGWAY_PUBLIC_URL: ISSUER });
    expect(await rows(t, 'select kid from signing_keys')).toHaveLength(0);
    const handles = await Promise.all([t.open(), t.open(), t.open(), t.open()]);
    const containers = await Promise.all(handles.map((db) => createContainer(config, { db, startBackground: false })));
    try {
      const keys = await rows<{ kid: string }>(t, 'select kid from signing_keys');
      expect(keys).toHaveLength(1);
      for (const c of containers) expect((await c.tokens.jwks()).keys.map((k) => k.kid)).toEqual([keys[0]!.kid]);
      // A restart finds the stored key instead of making another one.
      const again = await createContainer(config, { db: await t.open(), startBackground: false });
      await again.close();
      expect(await rows(t, 'select kid from signing_keys')).toHaveLength(1);
    } finally {
      for (const c of containers) await c.close();
    }
  });
});
