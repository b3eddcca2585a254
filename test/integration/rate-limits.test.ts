/**
 * SPEC §8 rate limits, shared by two gateway instances on one PostgreSQL database: per client
 * address (unauthenticated and failed-authentication requests) on GraphQL, SCIM and the SAML
 * ACS, and per valid credential; 429 + Retry-After, GraphQL RATE_LIMITED; which address is the
 * client follows ORGWAY_TRUST_PROXY; the defaults let a valid credential burst.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { rows, useDatabase } from '../kit/db.js';
import { type Gateway, startGateway, useGateway } from '../kit/gateway.js';
import { idpMetadataXml, testKeyPair } from '../kit/saml-keys.js';
import { createScimToken } from '../kit/scim.js';
import { ok } from '../kit/world.js';

const LIMITS = {
  ORGWAY_RATE_LIMIT_ADDRESS: '10',
  ORGWAY_RATE_LIMIT_CREDENTIAL: '30',
  ORGWAY_RATE_LIMIT_OWNER: '45',
  ORGWAY_RATE_LIMIT_WINDOW: '60',
  // Syncs are driven by the tests (rateLimits.sync()), not by the clock.
  ORGWAY_RATE_LIMIT_SYNC_MS: '60000',
  ORGWAY_TRUST_PROXY: 'true',
};

const t = useDatabase();
const a = useGateway({ t, env: LIMITS });
const b = useGateway({ t, env: LIMITS });
let admin: Awaited<ReturnType<Gateway['bootstrap']>>;
beforeAll(async () => {
  admin = await a.bootstrap();
});

let n = 0;
/** A client address of its own per test (a header value only; nothing is sent there). */
const address = () => `203.0.113.${++n}`;

const gql = (gw: Gateway, from: string, token: string | null, query = '{ viewer { user { id } } }') =>
  fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } }));

const expectRateLimited = (r: Awaited<ReturnType<typeof gql>>) => {
  expect(r.status).toBe(429);
  expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(r.retryAfter)).toBeLessThanOrEqual(60);
  expect(r.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  expect(r.body.errors?.[0]?.message).toMatch(/retry after \d+ s/);
};

describe('per client address: unauthenticated and failed-authentication requests', () => {
  test('an IPv6 client is its /64: rotating through the addresses of one prefix does not reset the count; another prefix is not affected', async () => {
    const prefix = `2001:db8:${(++n).toString(16)}:1`;
    for (let i = 1; i <= 10; i++) expect((await gql(a, `${prefix}::${i.toString(16)}`, 'ogws_wrong')).status).toBe(401);
    expectRateLimited(await gql(a, `${prefix}:0:0:0:abcd`, 'ogws_wrong'));
    expectRateLimited(await gql(b, `${prefix}::ffff:1`, null));
    expect((await gql(a, `2001:db8:${n.toString(16)}:2::1`, 'ogws_wrong')).status).toBe(401);
  });

  test('GraphQL: ten failures spread over two instances, then 429 RATE_LIMITED on both; another address is not affected', async () => {
    const from = address();
    for (let i = 0; i < 6; i++) expect((await gql(a, from, 'ogws_wrong')).status).toBe(401);
    for (let i = 0; i < 4; i++) expect((await gql(b, from, 'ogws_wrong')).status).toBe(401);
    expectRateLimited(await gql(b, from, 'ogws_wrong'));
    expectRateLimited(await gql(a, from, null)); // unauthenticated counts too
    // The address is refused before its credential is looked up, a valid one included.
    expectRateLimited(await gql(a, from, admin.token));
    expect((await gql(a, address(), 'ogws_wrong')).status).toBe(401);
    const found = await rows<{ points: number }>(t, `select points from rate_limits where key = ?`, [`addr:${from}`]);
    expect(found[0]!.points).toBeGreaterThanOrEqual(11);
  });

  test('SCIM: 429 with an RFC 7644 error body and Retry-After', async () => {
    const from = address();
    const scim = (gw: Gateway) => fetch(`${gw.url}/scim/v2/Users`, { headers: { authorization: 'Bearer nope', 'x-forwarded-for': from } });
    for (let i = 0; i < 10; i++) expect((await scim(i % 2 ? a : b)).status).toBe(401);
    const r = await scim(a);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await r.json()) as { status: string; detail: string };
    expect(body.status).toBe('429');
    expect(body.detail).toMatch(/retry after/);
  });

  test('SAML ACS: every request counts; the 429 is not recorded as a refused sign-in', async () => {
    const from = address();
    const acs = (gw: Gateway) =>
      fetch(`${gw.url}/saml/scn_none/acs`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'x-forwarded-for': from }, body: 'SAMLResponse=x' });
    for (let i = 0; i < 10; i++) expect((await acs(i % 2 ? a : b)).status).not.toBe(429);
    const r = await acs(b);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
  });

  test('SAML login and metadata count too: the login route stores no AuthnRequest once the address is refused', async () => {
    const org = await a.bootstrap();
    const principal = await a.container.identity.authenticate(org.token);
    const metadataXml = idpMetadataXml('https://idp.rate-limits.test/metadata', 'https://idp.rate-limits.test/sso', [testKeyPair('rate-limits')]);
    const connection = (await a.container.samlConnections.create(principal, org.orgId, { metadataXml, allowIdpInitiated: true, attributePrefix: null })).id;
    const from = address();
    const get = (gw: Gateway, path: string) => fetch(`${gw.url}/saml/${connection}/${path}`, { redirect: 'manual', headers: { accept: 'application/json', 'x-forwarded-for': from } });
    const stored = async () => (await rows<{ n: number }>(t, 'select count(*)::int as n from saml_requests where connection_id = ?', [connection]))[0]!.n;
    for (let i = 0; i < 5; i++) expect((await get(i % 2 ? a : b, 'login')).status).toBe(302);
    for (let i = 0; i < 5; i++) expect((await get(i % 2 ? a : b, 'metadata')).status).toBe(200);
    expect(await stored()).toBe(5);
    for (const path of ['login', 'metadata']) {
      const r = await get(a, path);
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    }
    expect(await stored()).toBe(5);
  });

  test('graphql-ws: a connection_init from a refused address is closed with 4429', async () => {
    const from = address();
    for (let i = 0; i < 11; i++) await gql(a, from, 'ogws_wrong');
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      const client = a.ws(admin.token, { headers: { 'x-forwarded-for': from } });
      client.on('closed', (e) => resolve(e as { code: number; reason: string }));
      client.subscribe({ query: '{ viewer { user { id } } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    });
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/RATE_LIMITED/);
  });
});

describe('per credential, shared by the instances', () => {
  test('a token over its limit is refused on both instances once they have synced', async () => {
    const { token } = await a.bootstrap();
    const from = address();
    for (let i = 0; i < 20; i++) expect((await gql(a, from, token)).status).toBe(200);
    await a.container.rateLimits.sync();
    for (let i = 0; i < 10; i++) expect((await gql(b, from, token)).status).toBe(200);
    await b.container.rateLimits.sync();
    expectRateLimited(await gql(b, from, token)); // 30 counted in the database
    // Instance A learns the shared count at its next sync.
    expect((await gql(a, from, token)).status).toBe(200);
    await a.container.rateLimits.sync();
    expectRateLimited(await gql(a, from, token));
    // Another credential from the same address is not affected.
    expect((await gql(a, from, admin.token)).status).toBe(200);
  });

  test('graphql-ws: connection_init and each operation count against the credential (RATE_LIMITED error)', async () => {
    const { token } = await a.bootstrap();
    for (let i = 0; i < 28; i++) expect((await gql(a, address(), token)).status).toBe(200);
    const client = a.ws(token);
    const run = () =>
      new Promise<{ data?: unknown; errors?: { extensions?: { code?: string } }[] }>((resolve) => {
        let result = {};
        client.subscribe({ query: '{ viewer { user { id } } }' }, { next: (v) => (result = v), error: (e) => resolve({ errors: e as never }), complete: () => resolve(result) });
      });
    await new Promise((r) => setTimeout(r, 0));
    // A subscription keeps the (lazy) connection open: connection_init (29) and this operation (30).
    const open = client.subscribe({ query: 'subscription { membershipChanged { id } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    const second = await run();
    open();
    expect(second.errors?.[0]?.extensions?.code, JSON.stringify(second)).toBe('RATE_LIMITED');
  });

  test("new API tokens do not bring a fresh allowance: all of a user's credentials share the owner limit", async () => {
    const { token, userId } = await a.bootstrap();
    const from = address();
    // 20 requests with the first token, then it mints 9 more (29 requests: under its own 30).
    for (let i = 0; i < 20; i++) expect((await gql(a, from, token)).status).toBe(200);
    const minted: string[] = [];
    for (let i = 0; i < 9; i++) {
      const r = await gql(a, from, token, `mutation { createApiToken(name: "minted ${i}") { token } }`);
      expect(r.body.errors).toBeUndefined();
      minted.push(r.body.data.createApiToken.token);
    }
    // 29 counted for the user; the minted tokens share the remaining 16.
    let allowed = 0;
    for (const minted_ of minted)
      for (let k = 0; k < 3; k++) {
        const r = await gql(a, from, minted_);
        if (r.status === 200) allowed += 1;
        else expectRateLimited(r);
      }
    expect(allowed).toBe(16);
    // The user's counter is shared through the database, under its own key: the other instance refuses too once synced.
    await a.container.rateLimits.sync();
    const [row] = await rows<{ points: number }>(t, `select points from rate_limits where key = ?`, [`cred:user:${userId}`]);
    expect(row?.points).toBe(45);
    const unused = (await gql(a, from, token, `mutation { createApiToken(name: "late") { token } }`)).status;
    expect(unused).toBe(429);
    expect((await gql(b, from, minted[8]!)).status).toBe(200);
    await b.container.rateLimits.sync();
    expectRateLimited(await gql(b, from, minted[8]!));
    // Another user is not affected.
    expect((await gql(a, from, admin.token)).status).toBe(200);
  });

  test('SCIM tokens are credentials too, and the tokens one user creates share that user\'s owner limit, in any organization', async () => {
    const org = await a.bootstrap();
    const { token } = await createScimToken(a, org);
    const from = address();
    const get = (bearer = token) => fetch(`${a.url}/scim/v2/ServiceProviderConfig`, { headers: { authorization: `Bearer ${bearer}`, 'x-forwarded-for': from } });
    for (let i = 0; i < 30; i++) expect((await get()).status).toBe(200);
    const r = await get();
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    // A token the same admin creates in an organization of their own making has 15 left of the admin's 45, not 30.
    // (The GraphQL requests count too: creating both tokens and the organization, 30 + 3, so 12 are left.)
    const created = await gql(a, from, org.token, `mutation { createOrganization(input: { name: "Second" }) { id } }`);
    const { token: second } = await createScimToken(a, { orgId: created.body.data.createOrganization.id, token: org.token });
    for (let i = 0; i < 12; i++) expect((await get(second)).status).toBe(200);
    expect((await get(second)).status).toBe(429);
    // Another organization's token is not affected.
    const other = await createScimToken(a, await a.bootstrap());
    expect((await get(other.token)).status).toBe(200);
  });
});

describe('defaults and the client address', () => {
  const d = useGateway({ env: { ORGWAY_RATE_LIMIT_ADDRESS: '10', ORGWAY_RATE_LIMIT_WINDOW: '60' } });

  test('without ORGWAY_TRUST_PROXY, X-Forwarded-For does not change who the client is', async () => {
    for (let i = 0; i < 10; i++) expect((await gql(d, address(), 'ogws_wrong')).status).toBe(401);
    expectRateLimited(await gql(d, address(), 'ogws_wrong'));
  });

  test('default limits: one valid credential bursts 300 requests (50 at a time) without a refusal', { timeout: 120_000 }, async () => {
    const g = await startGateway();
    try {
      const { token } = await g.bootstrap();
      let answered = 0;
      for (let round = 0; round < 6; round++) {
        const replies = await Promise.all(Array.from({ length: 50 }, () => gql(g, '127.0.0.1', token)));
        answered += replies.filter((r) => r.status === 200 && r.body.data?.viewer).length;
      }
      expect(answered).toBe(300);
      const unauthenticated = await Promise.all(Array.from({ length: 50 }, () => gql(g, '127.0.0.1', null, '{ __typename }')));
      expect(unauthenticated.every((r) => r.status === 200)).toBe(true);
      ok(await g.gql('{ viewer { user { id } } }', {}, token));
    } finally {
      await g.close();
    }
  });
});
