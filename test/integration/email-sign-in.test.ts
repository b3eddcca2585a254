/**
 * Email sign-in end to end (SPEC §7): a real SMTP server reads the actual email, the code
 * and the link from it sign in through the HTTP routes, on real PostgreSQL.
 */
import { describe, expect, test } from 'vitest';
import type { Clock } from '../../src/domain/runtime.js';
import { rows } from '../kit/db.js';
import { type Gateway, useGateway } from '../kit/gateway.js';
import { codeAndLink, useMailbox } from '../kit/mailbox.js';
import { ok, uniqueEmail } from '../kit/world.js';

const mail = useMailbox();
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
const gw = useGateway(() => ({ clock, env: { SMTP_URL: mail.url, ORGWAY_APP_URL: 'http://app.test/home', ORGWAY_AUTH_RATE_PER_ADDRESS: '100000', ORGWAY_EMAIL_RATE_PER_EMAIL: '1000' } }));

const post = (g: Gateway, path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${g.url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const postForm = (g: Gateway, path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${g.url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body).toString() });

/** Starts a sign-in and reads the code and link from the email that arrives. */
const requestCode = async (email: string, g: Gateway = gw) => {
  const since = mail.received.length;
  const r = await post(g, '/auth/email/start', { email });
  expect(r.status).toBe(202);
  expect(await r.json()).toEqual({ sent: true });
  return codeAndLink(await mail.next(email, since));
};

const verify = (email: string, code: string, headers: Record<string, string> = {}) => post(gw, '/auth/email/verify', { email, code }, { accept: 'application/json', ...headers });
const json = async (r: Response) => (await r.json()) as any;
const count = async (sql: string, params: unknown[] = []) => Number((await rows<{ n: number }>(gw, sql, params))[0]!.n);
const VIEWER = '{ viewer { user { id email } currentOrganization { id } organizations { totalCount edges { node { id } } } } }';

describe('email code', () => {
  test('a known user gets a readable email with a code and a link, and the code signs in with EMAIL', async () => {
    const admin = await gw.bootstrap('Code Co');
    const since = mail.received.length;
    const r = await post(gw, '/auth/email/start', { email: `  ${admin.email.toUpperCase()} ` });
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ sent: true });
    const m = await mail.next(admin.email, since);
    expect(m.subject).toMatch(/^Your sign-in code: \d{6}$/);
    expect(m.text).toContain('expire in 10 minutes');
    const { code, link } = codeAndLink(m);
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:4000\/auth\/email\/verify\?token=ogwl_/);
    // Only hashes are stored.
    const stored = await rows<{ code_hash: string; link_hash: string }>(gw, 'select code_hash, link_hash from email_challenges where email = ?', [admin.email]);
    expect(JSON.stringify(stored)).not.toContain(code);

    const v = await verify(admin.email, code);
    expect(v.status).toBe(200);
    const body = await json(v);
    expect(body).toEqual({ sessionToken: expect.stringMatching(/^ogws_/), userId: admin.userId, organizationId: admin.orgId, memberships: [{ organizationId: admin.orgId, role: 'ORG_ADMIN', status: 'ACTIVE' }] });
    const cookie = v.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^orgway_session=ogws_/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    const viewer = ok(await gw.gql<any>(VIEWER, {}, body.sessionToken));
    expect(viewer.viewer.currentOrganization.id).toBe(admin.orgId);
    const session = await rows<{ authentications: string[] }>(gw, 'select authentications from sessions where user_id = ? and kind = ?', [admin.userId, 'SESSION']);
    expect(session.map((s) => s.authentications)).toEqual([['EMAIL']]);
  });

  test('known and unknown emails get the same status, body and content type', async () => {
    const admin = await gw.bootstrap();
    const answers = [];
    for (const email of [admin.email, uniqueEmail('nobody')]) {
      const r = await post(gw, '/auth/email/start', { email });
      answers.push({ status: r.status, type: r.headers.get('content-type'), body: await r.text() });
    }
    expect(answers[0]).toEqual(answers[1]);
  });

  test('an unknown email signs up: a new user with a session and no organization, who can create one', async () => {
    const email = uniqueEmail('newcomer');
    const { code } = await requestCode(email);
    expect(await count('select count(*) as n from users where email = ?', [email])).toBe(0); // nothing until verified
    const v = await verify(email, code);
    expect(v.status).toBe(200);
    const body = await json(v);
    expect(body.organizationId).toBeNull();
    expect(body.memberships).toEqual([]);
    const viewer = ok(await gw.gql<any>(VIEWER, {}, body.sessionToken));
    expect(viewer.viewer.user.email).toBe(email);
    expect(viewer.viewer.organizations.totalCount).toBe(0);
    const created = ok(await gw.gql<any>('mutation { createOrganization(input: { name: "Mine" }) { id } }', {}, body.sessionToken));
    const sw = ok(await gw.gql<any>('mutation($o: ID!) { switchOrganization(organizationId: $o) { membership { role status } } }', { o: created.createOrganization.id }, body.sessionToken));
    expect(sw.switchOrganization.membership).toEqual({ role: 'ORG_ADMIN', status: 'ACTIVE' });
  });

  test('a form post verifies too and answers 303 to the app URL with the cookie', async () => {
    const email = uniqueEmail('form');
    const since = mail.received.length;
    const s = await postForm(gw, '/auth/email/start', { email });
    expect(s.status).toBe(202);
    const { code } = codeAndLink(await mail.next(email, since));
    const v = await postForm(gw, '/auth/email/verify', { email, code });
    expect(v.status).toBe(303);
    expect(v.headers.get('location')).toBe('http://app.test/home');
    expect(v.headers.get('set-cookie')).toMatch(/^orgway_session=ogws_/);
  });

  test('a code works once', async () => {
    const email = uniqueEmail('reuse');
    const { code, token } = await requestCode(email);
    expect((await verify(email, code)).status).toBe(200);
    const again = await verify(email, code);
    expect(again.status).toBe(401);
    expect((await json(again)).error.code).toBe('CODE_USED');
    // The link of the same email is used up with it.
    const link = await fetch(`${gw.url}/auth/email/verify?token=${encodeURIComponent(token)}`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(link.status).toBe(401);
    expect((await json(link)).error.code).toBe('CODE_USED');
    expect(await count("select count(*) as n from sessions s join users u on u.id = s.user_id where u.email = ? and s.kind = 'SESSION'", [email])).toBe(1);
  });

  test('a code expires after 10 minutes', async () => {
    const email = uniqueEmail('late');
    const { code, token } = await requestCode(email);
    offsetMs = 10 * 60 * 1000 + 1000;
    try {
      const v = await verify(email, code);
      expect(v.status).toBe(401);
      expect((await json(v)).error).toEqual({ code: 'CODE_EXPIRED', message: expect.stringContaining('expired') });
      const link = await fetch(`${gw.url}/auth/email/verify?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
      expect(link.status).toBe(401);
      expect(link.headers.get('content-type')).toMatch(/text\/html/);
      expect(await link.text()).toContain('CODE_EXPIRED');
    } finally {
      offsetMs = 0;
    }
    expect(await count('select count(*) as n from users where email = ?', [email])).toBe(0);
  });

  test('five wrong codes kill the code; each refusal says how many attempts are left; nothing is signed in', async () => {
    const admin = await gw.bootstrap();
    const { code, token } = await requestCode(admin.email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let left = 4; left >= 0; left--) {
      const v = await verify(admin.email, wrong);
      expect(v.status).toBe(401);
      const e = (await json(v)).error;
      expect(e.code).toBe('INVALID_CODE');
      expect(e.message).toContain(left > 0 ? `${left} attempt` : 'last attempt');
    }
    const right = await verify(admin.email, code);
    expect(right.status).toBe(401);
    expect((await json(right)).error.code).toBe('TOO_MANY_ATTEMPTS');
    const link = await fetch(`${gw.url}/auth/email/verify?token=${encodeURIComponent(token)}`, { headers: { accept: 'application/json' } });
    expect((await json(link)).error.code).toBe('TOO_MANY_ATTEMPTS');
    expect(await count("select count(*) as n from sessions where user_id = ? and kind = 'SESSION'", [admin.userId])).toBe(0);
  });

  test('twenty wrong codes for one email in a day, over several codes, refuse even the right code; the link still signs in', async () => {
    const email = uniqueEmail('guessed');
    for (let round = 0; round < 4; round++) {
      const { code } = await requestCode(email);
      const wrong = code === '000000' ? '111111' : '000000';
      for (let i = 0; i < 5; i++) expect((await json(await verify(email, wrong))).error.code).toBe('INVALID_CODE');
    }
    const { code, token } = await requestCode(email);
    const right = await verify(email, code);
    expect(right.status).toBe(401);
    const e = (await json(right)).error;
    expect(e.code).toBe('TOO_MANY_ATTEMPTS');
    expect(e.message).toContain('last 24 hours');
    expect(await count("select count(*) as n from sessions s join users u on u.id = s.user_id where u.email = ? and s.kind = 'SESSION'", [email])).toBe(0);
    // The link proves the mailbox without a guessable code.
    const link = await fetch(`${gw.url}/auth/email/verify?token=${encodeURIComponent(token)}`, { headers: { accept: 'application/json' } });
    expect(link.status).toBe(200);
    expect((await json(link)).sessionToken).toEqual(expect.any(String));
  });

  test('a newer code replaces the older one', async () => {
    const email = uniqueEmail('twice');
    const first = await requestCode(email);
    const second = await requestCode(email);
    // The older link says it was replaced; the older code is simply not the live one.
    const oldLink = await fetch(`${gw.url}/auth/email/verify?token=${encodeURIComponent(first.token)}`, { headers: { accept: 'application/json' } });
    expect(oldLink.status).toBe(401);
    expect((await json(oldLink)).error.message).toMatch(/replaced by a newer one/);
    if (first.code !== second.code) {
      const old = await verify(email, first.code);
      expect(old.status).toBe(401);
      expect((await json(old)).error.code).toBe('INVALID_CODE');
    }
    expect((await verify(email, second.code)).status).toBe(200);
  });

  test('no code pending, malformed input: clear refusals that change nothing', async () => {
    const before = await count('select count(*) as n from email_challenges');
    const none = await verify(uniqueEmail('never'), '123456');
    expect(none.status).toBe(401);
    expect((await json(none)).error.code).toBe('INVALID_CODE');
    for (const [path, body] of [
      ['/auth/email/start', {}],
      ['/auth/email/start', { email: 'not-an-email' }],
      ['/auth/email/start', { email: ['a@b.example'] }],
      ['/auth/email/verify', { email: 'a@b.example' }],
      ['/auth/email/verify', { email: 'a@b.example', code: '12ab56' }],
    ] as const) {
      const r = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect((await json(r)).error.code).toBe('BAD_USER_INPUT');
    }
    const notJson = await fetch(`${gw.url}/auth/email/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    const badLink = await fetch(`${gw.url}/auth/email/verify?token=nope`, { headers: { accept: 'application/json' } });
    expect(badLink.status).toBe(400);
    expect((await json(badLink)).error.code).toBe('INVALID_LINK');
    expect(await count('select count(*) as n from email_challenges')).toBe(before);
  });

  test('a cross-site form post is refused', async () => {
    const r = await postForm(gw, '/auth/email/start', { email: uniqueEmail('csrf') }, { origin: 'https://evil.example' });
    expect(r.status).toBe(403);
  });
});

describe('email link', () => {
  test('the link signs in once: 303 to the app URL with the cookie, then a page saying it was used', async () => {
    const admin = await gw.bootstrap();
    const { link } = await requestCode(admin.email);
    const url = link.replace('http://127.0.0.1:4000', gw.url);
    const r = await fetch(url, { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('http://app.test/home');
    const token = /^orgway_session=([^;]+)/.exec(r.headers.get('set-cookie')!)![1]!;
    expect(ok(await gw.gql<any>(VIEWER, {}, token)).viewer.user.id).toBe(admin.userId);
    const again = await fetch(url, { redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(await again.text()).toMatch(/already used/);
  });

  test('signing in by email in a browser that holds a session of the same user adds EMAIL to it and rotates its secret', async () => {
    const admin = await gw.bootstrap();
    const held = await gw.container.identity.createSession(admin.userId, admin.orgId, ['SSO:conn_x']);
    const { code } = await requestCode(admin.email);
    const v = await verify(admin.email, code, { cookie: `orgway_session=${held.token}` });
    const body = await json(v);
    const found = await rows<{ id: string; authentications: string[] }>(gw, "select id, authentications from sessions where user_id = ? and kind = 'SESSION'", [admin.userId]);
    expect(found).toEqual([{ id: held.id, authentications: ['EMAIL', 'SSO:conn_x'] }]);
    expect(body.sessionToken).not.toBe(held.token);
    expect((await gw.gql(VIEWER, {}, held.token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('ORGWAY_EMAIL_SIGN_UP=false', () => {
  const closed = useGateway(() => ({ t: gw.t, env: { SMTP_URL: mail.url, ORGWAY_EMAIL_SIGN_UP: 'false', ORGWAY_AUTH_RATE_PER_ADDRESS: '100000' } }));

  test('an unknown email gets the same answer, no email, and can never create a user; a known one signs in', async () => {
    const admin = await gw.bootstrap();
    const stranger = uniqueEmail('stranger');
    const answers = [];
    for (const email of [admin.email, stranger]) {
      const r = await post(closed, '/auth/email/start', { email });
      answers.push({ status: r.status, body: await r.text() });
    }
    expect(answers[0]).toEqual({ status: 202, body: '{"sent":true}' });
    expect(answers[1]).toEqual(answers[0]);
    const m = await mail.next(admin.email);
    expect(m).toBeDefined();
    await new Promise((r) => setTimeout(r, 300));
    expect(mail.received.some((x) => x.to.includes(stranger))).toBe(false);
    expect(await count('select count(*) as n from outbox_emails where to_address = ?', [stranger])).toBe(0);
    // Guessing at the stranger's challenge behaves like a wrong code and creates nothing.
    const v = await post(closed, '/auth/email/verify', { email: stranger, code: '123456' });
    expect(v.status).toBe(401);
    expect((await json(v)).error.code).toBe('INVALID_CODE');
    expect(await count('select count(*) as n from users where email = ?', [stranger])).toBe(0);
    const { code } = codeAndLink(m);
    expect((await post(closed, '/auth/email/verify', { email: admin.email, code })).status).toBe(200);
  });
});

describe('rate limits', () => {
  // Its own database: the counts live there, shared by every instance on it (the other tests' requests would count).
  const limited = useGateway(() => ({ env: { SMTP_URL: mail.url, ORGWAY_AUTH_RATE_PER_ADDRESS: '4', ORGWAY_EMAIL_RATE_PER_EMAIL: '2' } }));

  test('per email, then per client address: 429 with Retry-After', async () => {
    const email = uniqueEmail('limited');
    expect((await post(limited, '/auth/email/start', { email })).status).toBe(202);
    expect((await post(limited, '/auth/email/start', { email: email.toUpperCase() })).status).toBe(202);
    const third = await post(limited, '/auth/email/start', { email });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await json(third)).error.code).toBe('RATE_LIMITED');
    expect((await post(limited, '/auth/email/start', { email: uniqueEmail('other') })).status).toBe(202);
    const fifth = await fetch(`${limited.url}/auth/discover?email=${encodeURIComponent(email)}`);
    expect(fifth.status).toBe(429);
  });
});
