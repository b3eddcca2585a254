/**
 * Who is calling: bearer session / API tokens, the `orgway_session` cookie, and the
 * CSRF defences for cookie-authenticated requests (Origin check + Apollo's CSRF
 * prevention), over HTTP and graphql-ws, against a real server and database.
 */
import type { Client } from 'graphql-ws';
import { beforeAll, describe, expect, test } from 'vitest';
import { MEMBERSHIP_TABLES, rows, snapshot } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';

/** A clock the test can move forward (session expiry). */
const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };

const PUBLIC_URL = 'http://127.0.0.1:4000';
const APP_URL = 'http://app.localhost:5173';
const EVIL = 'https://evil.example';
const VIEWER = '{ viewer { user { id email } } }';
const STAGE = 'mutation($o: ID!, $e: String!) { stageUser(organizationId: $o, email: $e) { id status } }';

let admin: { orgId: string; userId: string; email: string; token: string };
/** A browser session of the admin (what SAML sign-in sets as the cookie). */
let session: string;

const gw = useGateway({ clock, env: { ORGWAY_APP_URL: `${APP_URL}/dashboard`, ORGWAY_SESSION_TTL: '3600' } });
beforeAll(async () => {
  admin = await gw.bootstrap('Acme');
  session = (await gw.container.identity.createSession(admin.userId, admin.orgId, ['OPERATOR'])).token;
});

/** How many memberships, events and users there are. */
const counts = async () => {
  const [m] = await rows<{ n: number }>(gw, 'select count(*)::int as n from memberships');
  const [e] = await rows<{ n: number }>(gw, 'select count(*)::int as n from membership_events');
  const [u] = await rows<{ n: number }>(gw, 'select count(*)::int as n from users');
  return { memberships: m!.n, events: e!.n, users: u!.n };
};

const post = async (body: unknown, headers: Record<string, string>, contentType = 'application/json') => {
  const res = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } };
};

const errorCode = (r: { json: { errors?: { extensions?: { code?: string } }[] } }) => r.json.errors?.[0]?.extensions?.code;

describe('bearer tokens', () => {
  test('an API token and a session token both authenticate', async () => {
    const api = await gw.gql<any>(VIEWER, {}, admin.token);
    expect(api.errors).toBeUndefined();
    expect(api.data.viewer.user).toEqual({ id: admin.userId, email: admin.email });
    const ses = await gw.gql<any>(VIEWER, {}, session);
    expect(ses.errors).toBeUndefined();
    expect(ses.data.viewer.user.id).toBe(admin.userId);
  });

  test('the scheme is case-insensitive and surrounding spaces are tolerated', async () => {
    const r = await post({ query: VIEWER }, { authorization: `  bearer   ${admin.token} ` });
    expect(r.json.errors).toBeUndefined();
    expect(r.json.data.viewer.user.id).toBe(admin.userId);
  });

  test('a bearer request from any Origin is accepted (a bearer token is never sent by the browser on its own)', async () => {
    const r = await gw.gql<any>(VIEWER, {}, admin.token, { origin: EVIL });
    expect(r.errors).toBeUndefined();
    expect(r.data.viewer.user.id).toBe(admin.userId);
    const before = await counts();
    const m = await gw.gql<any>(STAGE, { o: admin.orgId, e: 'bearer-from-anywhere@example.com' }, admin.token, { origin: EVIL });
    expect(m.errors).toBeUndefined();
    expect(m.data.stageUser.status).toBe('STAGED');
    expect((await counts()).memberships).toBe(before.memberships + 1);
  });

  test('the bearer token wins over a cookie, so a foreign Origin does not matter', async () => {
    const r = await gw.gql<any>(VIEWER, {}, admin.token, { origin: EVIL, cookie: `orgway_session=${session}` });
    expect(r.errors).toBeUndefined();
    expect(r.data.viewer.user.id).toBe(admin.userId);
  });

  test('a refused credential answers HTTP 401 (unknown token) or 403 (foreign cookie origin), never 500', async () => {
    const unknown = await post({ query: VIEWER }, { authorization: 'Bearer ogws_doesnotexist' });
    expect(unknown.status).toBe(401);
    expect(errorCode(unknown)).toBe('UNAUTHENTICATED');
    const foreign = await post({ query: VIEWER }, { cookie: `orgway_session=${session}`, origin: EVIL });
    expect(foreign.status).toBe(403);
    expect(errorCode(foreign)).toBe('FORBIDDEN');
  });

  test('an unknown token is UNAUTHENTICATED', async () => {
    for (const token of ['ogws_doesnotexist', 'x', 'a'.repeat(500)]) {
      const r = await gw.gql<any>(VIEWER, {}, token);
      expect(r.data ?? null).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(r.errors?.[0]?.message).toMatch(/Bearer/);
    }
  });

  test('a revoked session and a revoked API token are UNAUTHENTICATED', async () => {
    const s = await gw.container.identity.createSession(admin.userId, admin.orgId, ['OPERATOR']);
    const api = await gw.gql<any>('mutation { createApiToken(name: "script") { token } }', {}, admin.token);
    expect(api.errors).toBeUndefined();
    const apiToken: string = api.data.createApiToken.token;
    for (const token of [s.token, apiToken]) {
      expect((await gw.gql<any>(VIEWER, {}, token)).errors).toBeUndefined();
      const out = await gw.gql<any>('mutation { signOut }', {}, token);
      expect(out.errors).toBeUndefined();
      expect(out.data.signOut).toBe(true);
      const after = await gw.gql<any>(VIEWER, {}, token);
      expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    // The admin's other credentials are unaffected.
    expect((await gw.gql<any>(VIEWER, {}, admin.token)).errors).toBeUndefined();
  });

  test('an expired session is UNAUTHENTICATED, also as a cookie', async () => {
    const s = await gw.container.identity.createSession(admin.userId, admin.orgId, ['OPERATOR']);
    expect((await gw.gql<any>(VIEWER, {}, s.token)).errors).toBeUndefined();
    clock.offsetMs = 3601 * 1000;
    try {
      expect((await gw.gql<any>(VIEWER, {}, s.token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(errorCode(await post({ query: VIEWER }, { cookie: `orgway_session=${s.token}` }))).toBe('UNAUTHENTICATED');
      // API tokens do not expire.
      expect((await gw.gql<any>(VIEWER, {}, admin.token)).errors).toBeUndefined();
    } finally {
      clock.offsetMs = 0;
    }
  });

  test('a malformed Authorization header is UNAUTHENTICATED with a message saying what to send', async () => {
    for (const authorization of ['Basic YWxhZGRpbjpvcGVu', 'Bearer', 'Bearer a b', `Token ${admin.token}`, admin.token]) {
      const r = await post({ query: VIEWER }, { authorization });
      expect(r.json.data ?? null).toBeNull();
      expect(errorCode(r)).toBe('UNAUTHENTICATED');
      expect(r.json.errors?.[0]?.message).toBe('The Authorization header must be "Bearer <token>".');
    }
  });

  test('a malformed Authorization header is not rescued by a valid cookie', async () => {
    const r = await post({ query: VIEWER }, { authorization: 'Basic abc', cookie: `orgway_session=${session}` });
    expect(errorCode(r)).toBe('UNAUTHENTICATED');
  });

  test('without credentials, viewer is UNAUTHENTICATED (and the message says how to sign in)', async () => {
    const r = await gw.gql<any>(VIEWER);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(r.errors?.[0]?.message).toMatch(/orgway_session/);
  });
});

describe('session cookie', () => {
  test('authenticates without an Origin (non-browser clients) and from the public and app origins', async () => {
    for (const origin of [undefined, PUBLIC_URL, APP_URL]) {
      const r = await post({ query: VIEWER }, { cookie: `orgway_session=${session}`, ...(origin ? { origin } : {}) });
      expect(r.json.errors).toBeUndefined();
      expect(r.json.data.viewer.user.id).toBe(admin.userId);
    }
  });

  test('an unknown cookie is UNAUTHENTICATED', async () => {
    expect(errorCode(await post({ query: VIEWER }, { cookie: 'orgway_session=ogws_nope' }))).toBe('UNAUTHENTICATED');
  });

  test('a cookie-authenticated mutation from a foreign Origin is FORBIDDEN and changes nothing', async () => {
    const before = await snapshot(gw, MEMBERSHIP_TABLES);
    for (const origin of [EVIL, 'null', 'http://127.0.0.1:4001', 'https://127.0.0.1:4000', 'http://app.localhost:5173.evil.example']) {
      const r = await post({ query: STAGE, variables: { o: admin.orgId, e: 'csrf-victim@example.com' } }, { cookie: `orgway_session=${session}`, origin });
      expect(r.json.data ?? null).toBeNull();
      expect(errorCode(r)).toBe('FORBIDDEN');
      expect(r.json.errors?.[0]?.message).toContain(`this one came from ${origin}`);
      expect(r.json.errors?.[0]?.message).toContain(PUBLIC_URL);
    }
    expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
    expect(await gw.container.identity.findUserByEmail('csrf-victim@example.com')).toBeNull();
    // The same mutation from the app's origin goes through.
    const ok = await post({ query: STAGE, variables: { o: admin.orgId, e: 'csrf-victim@example.com' } }, { cookie: `orgway_session=${session}`, origin: APP_URL });
    expect(ok.json.errors).toBeUndefined();
    expect(ok.json.data.stageUser.status).toBe('STAGED');
  });

  test("Apollo's CSRF prevention refuses simple requests (text/plain, form, multipart) and they change nothing", async () => {
    const before = await snapshot(gw, MEMBERSHIP_TABLES);
    const body = JSON.stringify({ query: STAGE, variables: { o: admin.orgId, e: 'simple-post@example.com' } });
    // Same-origin, so only the content type gives the request away. text/plain reaches Apollo,
    // which refuses it; Fastify has no parser for form bodies and refuses them first (415).
    const plain = await post(body, { cookie: `orgway_session=${session}`, origin: PUBLIC_URL }, 'text/plain');
    expect(plain.status).toBe(400);
    expect(plain.json.errors?.[0]?.message).toMatch(/Cross-Site Request Forgery/);
    expect(plain.json.data ?? null).toBeNull();
    for (const contentType of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await post(body, { cookie: `orgway_session=${session}`, origin: PUBLIC_URL }, contentType);
      expect(r.status).toBe(415);
      expect(r.json.data ?? null).toBeNull();
    }
    // Also with a bearer token: text/plain is never executed.
    const bearer = await post(body, { authorization: `Bearer ${admin.token}` }, 'text/plain');
    expect(bearer.status).toBe(400);
    expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
    expect(await gw.container.identity.findUserByEmail('simple-post@example.com')).toBeNull();
  });

  test('a GET query without a preflight header is refused; with one it is answered', async () => {
    const q = encodeURIComponent(VIEWER);
    const refused = await fetch(`${gw.url}/graphql?query=${q}`, { headers: { cookie: `orgway_session=${session}` } });
    expect(refused.status).toBe(400);
    const ok = await fetch(`${gw.url}/graphql?query=${q}`, { headers: { cookie: `orgway_session=${session}`, 'apollo-require-preflight': '1' } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).data.viewer.user.id).toBe(admin.userId);
  });
});

describe('graphql-ws', () => {
  const SUB = 'subscription { membershipChanged { type organizationId } }';

  /** Subscribes and reports how the connection ended, or that it was acknowledged. */
  const connect = (client: Client) =>
    new Promise<{ connected: boolean; code?: number; reason?: string }>((resolve) => {
      client.on('connected', () => resolve({ connected: true }));
      client.on('closed', (event) => {
        const e = event as { code?: number; reason?: string };
        resolve({ connected: false, code: e.code, reason: e.reason });
      });
      client.subscribe({ query: SUB }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    });

  test('a cookie-authenticated socket from a foreign Origin is refused with 4403', async () => {
    const r = await connect(gw.ws(null, { headers: { cookie: `orgway_session=${session}`, origin: EVIL } }));
    expect(r.connected).toBe(false);
    expect(r.code).toBe(4403);
    expect(r.reason).toMatch(/^FORBIDDEN: Requests authenticated by cookie must come from/);
  });

  test('a cookie-authenticated socket from the app origin is accepted', async () => {
    const r = await connect(gw.ws(null, { headers: { cookie: `orgway_session=${session}`, origin: APP_URL } }));
    expect(r).toEqual({ connected: true });
  });

  test('a bearer token in connection_init is accepted from any Origin', async () => {
    const r = await connect(gw.ws(admin.token, { headers: { origin: EVIL } }));
    expect(r).toEqual({ connected: true });
  });

  test('no credentials, an unknown token or a malformed one are refused with 4401', async () => {
    const none = await connect(gw.ws(null));
    expect(none.code).toBe(4401);
    expect(none.reason).toMatch(/Unauthenticated/);
    const unknown = await connect(gw.ws('ogws_unknown'));
    expect(unknown.code).toBe(4401);
    expect(unknown.reason).toMatch(/^UNAUTHENTICATED/);
    // gw.ws(token) sends { authorization: "Bearer <token>" }; a token with a space in it is malformed.
    const malformed = await connect(gw.ws('two words'));
    expect(malformed.code).toBe(4401);
    expect(malformed.reason).toBe('UNAUTHENTICATED: The authorization connection parameter must be "Bearer <token>".');
  });
});
