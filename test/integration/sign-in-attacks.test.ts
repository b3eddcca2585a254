/**
 * Attacks on the sign-in routes from another site: a page the attacker controls makes the
 * victim's browser post the attacker's own email and code, to sign the victim in as the
 * attacker (login CSRF) and replace the victim's session.
 */
import { describe, expect, test } from 'vitest';
import { rows } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { codeAndLink, useMailbox } from '../kit/mailbox.js';

const mail = useMailbox();
const gw = useGateway(() => ({ env: { SMTP_URL: mail.url, ORGWAY_APP_URL: 'http://app.test/home', ORGWAY_AUTH_RATE_PER_ADDRESS: '100000', ORGWAY_EMAIL_RATE_PER_EMAIL: '1000' } }));

const postForm = (path: string, body: Record<string, string>, headers: Record<string, string>) =>
  fetch(`${gw.url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body).toString() });

const attackerCode = async () => {
  const attacker = await gw.bootstrap('Attacker Co');
  const since = mail.received.length;
  const r = await fetch(`${gw.url}/auth/email/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: attacker.email }) });
  expect(r.status).toBe(202);
  return { attacker, code: codeAndLink(await mail.next(attacker.email, since)).code };
};

describe('cross-site form posts to the sign-in routes', () => {
  // A sandboxed iframe (or a data: URL) posts with `Origin: null`; a browser's own cross-site form post with `Sec-Fetch-Site: cross-site`.
  for (const [name, headers] of [
    ['an opaque origin (Origin: null)', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
    ['no Origin but Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
  ] as const)
    test(`${name} cannot sign the victim's browser in as the attacker`, async () => {
      const { attacker, code } = await attackerCode();
      const victim = await gw.bootstrap('Victim Co');
      const held = await gw.container.identity.createSession(victim.userId, victim.orgId, ['EMAIL']);
      const r = await postForm('/auth/email/verify', { email: attacker.email, code }, { ...headers, cookie: `orgway_session=${held.token}` });
      expect(r.status).toBe(403);
      expect(r.headers.get('set-cookie')).toBeNull();
      // The victim's session is untouched and the attacker's code was not spent.
      expect((await gw.container.identity.authenticate(held.token)).userId).toBe(victim.userId);
      const used = await rows<{ used_at: Date | null }>(gw, 'select used_at from email_challenges where email = ?', [attacker.email]);
      expect(used.map((u) => u.used_at)).toEqual([null]);
    });

  test('the sign-in page itself (same origin, or a browser that sends no fetch metadata) still signs in', async () => {
    const { attacker, code } = await attackerCode();
    const r = await postForm('/auth/email/verify', { email: attacker.email, code }, { origin: 'http://127.0.0.1:4000', 'sec-fetch-site': 'same-origin' });
    expect(r.status).toBe(303);
    expect(r.headers.get('set-cookie')).toMatch(/^orgway_session=/);
    const again = await attackerCode();
    expect((await postForm('/auth/email/verify', { email: again.attacker.email, code: again.code }, {})).status).toBe(303);
  });
});

describe('emails the mailer would read as other addresses', () => {
  // nodemailer reads "x@evil.example,corp.example" as x@evil.example plus a name, and "a;b@corp.example" as b@corp.example.
  for (const email of ['attacker@evil.example,corp.example', 'attacker@evil.example;corp.example', 'a;victim@corp.example', 'a,victim@corp.example', 'a<victim@corp.example', '"a"victim@corp.example'])
    test(`${email} is refused before anything is stored or sent`, async () => {
      const before = mail.received.length;
      const r = await fetch(`${gw.url}/auth/email/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('BAD_USER_INPUT');
      expect(await rows(gw, 'select 1 from email_challenges where email = ?', [email.toLowerCase()])).toHaveLength(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(mail.received.slice(before).map((m) => m.to)).toEqual([]);
    });
});
