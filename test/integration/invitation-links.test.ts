/**
 * Invitation links end to end (SPEC §7): inviteUser's email, read from a real SMTP server,
 * carries a single-use link that signs the invitee in (EMAIL) and enters the organization;
 * resend and revoke; used, revoked and expired links; SSO-required organizations.
 */
import { describe, expect, test } from 'vitest';
import type { Clock } from '../../src/domain/runtime.js';
import { rows } from '../kit/db.js';
import { type ReceivedMail, useMailbox } from '../kit/mailbox.js';
import { useSamlWorld } from '../kit/saml-world.js';
import { ok, refused, uniqueEmail } from '../kit/world.js';

const mail = useMailbox();
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
const w = useSamlWorld(() => ({ clock, env: { SMTP_URL: mail.url, ORGWAY_APP_URL: 'http://app.test/', ORGWAY_AUTH_RATE_PER_ADDRESS: '100000' } }));

const gql = (q: string, v: Record<string, unknown>, token: string) => w.gw.gql<any>(q, v, token);
const INVITE = 'mutation($o: ID!, $e: String!) { inviteUser(organizationId: $o, email: $e) { status user { id } } }';
const RESEND = 'mutation($o: ID!, $u: ID!) { resendInvitation(organizationId: $o, userId: $u) { status } }';
const REVOKE = 'mutation($o: ID!, $u: ID!) { revokeInvitation(organizationId: $o, userId: $u) }';

const linkOf = (m: ReceivedMail): string => {
  const link = /(http:\/\/127\.0\.0\.1:4000\/invitations\/\S+)/.exec(m.text)?.[1];
  if (!link) throw new Error(`no invitation link in:\n${m.text}`);
  return link.replace('http://127.0.0.1:4000', w.gw.url);
};

/** Invites a new email into the organization and returns the link from the email. */
const invite = async (orgId: string, adminToken: string, email = uniqueEmail('invitee')) => {
  const since = mail.received.length;
  const r = ok(await gql(INVITE, { o: orgId, e: email }, adminToken));
  const m = await mail.next(email, since);
  return { email, userId: r.inviteUser.user.id as string, link: linkOf(m), mail: m };
};

const open = (link: string, json = false) => fetch(link, { redirect: 'manual', headers: json ? { accept: 'application/json' } : {} });
const status = async (orgId: string, userId: string) =>
  (await rows<{ status: string }>(w.gw, 'select status from memberships where organization_id = ? and user_id = ?', [orgId, userId]))[0]?.status ?? null;
const events = (orgId: string, userId: string) =>
  rows<{ type: string; actor: string; previous_status: string | null; status: string | null }>(w.gw,
    'select type, actor, previous_status, status from membership_events where organization_id = ? and user_id = ? order by id',
    [orgId, userId],
  );

describe('opening the invitation link', () => {
  test('signs the invitee in with EMAIL, enters the organization (INVITED → ACTIVE by user:<invitee>) and redirects to the app', async () => {
    const org = await w.org({ name: 'Inviting org' });
    const { userId, link, mail: m } = await invite(org.orgId, org.adminToken);
    expect(m.subject).toMatch(/You are invited to Inviting org/);
    expect(m.text).toMatch(/works once and expires on \d{4}-\d\d-\d\d/);
    expect(link).toMatch(/\/invitations\/ogwi_/);

    const r = await open(link);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('http://app.test');
    const token = /^orgway_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
    expect(token).toBeDefined();
    expect(await status(org.orgId, userId)).toBe('ACTIVE');
    expect(await events(org.orgId, userId)).toEqual([
      { type: 'JOINED', actor: `user:${org.adminUserId}`, previous_status: null, status: 'INVITED' },
      { type: 'STATUS_CHANGED', actor: `user:${userId}`, previous_status: 'INVITED', status: 'ACTIVE' },
    ]);
    const viewer = ok(await gql('{ viewer { user { id } currentOrganization { id } currentMembership { status } } }', {}, token!));
    expect(viewer.viewer).toEqual({ user: { id: userId }, currentOrganization: { id: org.orgId }, currentMembership: { status: 'ACTIVE' } });
    const sessions = await rows<{ authentications: string[] }>(w.gw, "select authentications from sessions where user_id = ? and kind = 'SESSION'", [userId]);
    expect(sessions).toEqual([{ authentications: ['EMAIL'] }]);
  });

  test('a JSON client gets the session as JSON', async () => {
    const org = await w.org();
    const { userId, link } = await invite(org.orgId, org.adminToken);
    const r = await open(link, true);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ sessionToken: expect.stringMatching(/^ogws_/), userId, organizationId: org.orgId, memberships: [{ organizationId: org.orgId, role: 'MEMBER', status: 'ACTIVE' }] });
  });

  test('a used link answers a page that says so; nothing changes', async () => {
    const org = await w.org();
    const { userId, link } = await invite(org.orgId, org.adminToken);
    expect((await open(link)).status).toBe(303);
    const again = await open(link);
    expect(again.status).toBe(410);
    expect(again.headers.get('content-type')).toMatch(/text\/html/);
    const html = await again.text();
    expect(html).toContain('Invitation already used');
    expect(html).toContain('Sign in with your email');
    expect((await (await open(link, true)).json()).error.code).toBe('INVITATION_USED');
    expect(await events(org.orgId, userId)).toHaveLength(2);
    expect(await rows(w.gw, "select id from sessions where user_id = ? and kind = 'SESSION'", [userId])).toHaveLength(1);
  });

  test('an expired link (7 days) answers a page that says so, and the membership stays INVITED', async () => {
    const org = await w.org();
    const { userId, link } = await invite(org.orgId, org.adminToken);
    offsetMs = 7 * 24 * 3600 * 1000 + 1000;
    try {
      const r = await open(link);
      expect(r.status).toBe(410);
      expect(await r.text()).toContain('Invitation expired');
      expect((await (await open(link, true)).json()).error.code).toBe('INVITATION_EXPIRED');
    } finally {
      offsetMs = 0;
    }
    expect(await status(org.orgId, userId)).toBe('INVITED');
  });

  test('a DISABLED membership is not entered by its link: 403 NO_ACCESS, and nothing changes', async () => {
    const org = await w.org();
    const { userId, link } = await invite(org.orgId, org.adminToken);
    ok(await gql('mutation($o: ID!, $u: ID!) { setMembershipStatus(organizationId: $o, userId: $u, status: DISABLED) { status } }', { o: org.orgId, u: userId }, org.adminToken));
    const r = await open(link, true);
    expect(r.status).toBe(403);
    expect((await r.json()).error.code).toBe('NO_ACCESS');
    expect(await status(org.orgId, userId)).toBe('DISABLED');
    expect(await rows(w.gw, "select id from sessions where user_id = ? and kind = 'SESSION'", [userId])).toEqual([]);
    expect(await rows(w.gw, 'select id from invitations where user_id = ? and ended_at is not null', [userId])).toEqual([]);
  });

  test('an unknown token is an invalid link', async () => {
    const r = await open(`${w.gw.url}/invitations/ogwi_nope`, true);
    expect(r.status).toBe(400);
    expect((await r.json()).error.code).toBe('INVALID_LINK');
  });
});

describe('resendInvitation and revokeInvitation', () => {
  test('a resend sends a new link; the old one says it was replaced', async () => {
    const org = await w.org();
    const { email, userId, link: first } = await invite(org.orgId, org.adminToken);
    const since = mail.received.length;
    expect(ok(await gql(RESEND, { o: org.orgId, u: userId }, org.adminToken)).resendInvitation).toEqual({ status: 'INVITED' });
    const second = linkOf(await mail.next(email, since));
    expect(second).not.toBe(first);
    const old = await open(first, true);
    expect(old.status).toBe(410);
    expect((await old.json()).error).toEqual({ code: 'INVITATION_REVOKED', message: expect.stringContaining('replaced by a newer one') });
    expect((await open(second)).status).toBe(303);
    expect(await status(org.orgId, userId)).toBe('ACTIVE');
  });

  test('a revoke ends the link and removes the INVITED membership (LEFT by the admin)', async () => {
    const org = await w.org();
    const { userId, link } = await invite(org.orgId, org.adminToken);
    expect(ok(await gql(REVOKE, { o: org.orgId, u: userId }, org.adminToken)).revokeInvitation).toBe(true);
    const r = await open(link);
    expect(r.status).toBe(410);
    expect(await r.text()).toContain('revoked');
    expect(await status(org.orgId, userId)).toBeNull();
    expect((await events(org.orgId, userId)).at(-1)).toEqual({ type: 'LEFT', actor: `user:${org.adminUserId}`, previous_status: 'INVITED', status: null });
  });

  test('only for INVITED members, only by ORG_ADMINs; refusals change nothing', async () => {
    const org = await w.org();
    const { userId, link } = await invite(org.orgId, org.adminToken);
    const memberToken = /^orgway_session=([^;]+)/.exec((await open(link)).headers.get('set-cookie')!)![1]!;
    // ACTIVE now: neither applies.
    for (const q of [RESEND, REVOKE]) {
      const e = refused(await gql(q, { o: org.orgId, u: userId }, org.adminToken));
      expect(e.code).toBe('CONFLICT');
      expect(e.message).toMatch(/INVITED members only/);
    }
    const other = await invite(org.orgId, org.adminToken);
    expect(refused(await gql(REVOKE, { o: org.orgId, u: other.userId }, memberToken)).code).toBe('FORBIDDEN');
    const stranger = await w.org();
    expect(refused(await gql(RESEND, { o: org.orgId, u: other.userId }, stranger.adminToken)).code).toBe('NOT_FOUND');
    expect(refused(await gql(REVOKE, { o: org.orgId, u: 'usr_nobody' }, org.adminToken)).code).toBe('NOT_FOUND');
    expect(await status(org.orgId, other.userId)).toBe('INVITED');
    expect((await open(other.link)).status).toBe(303);
  });
});

describe('an organization that requires SSO', () => {
  test("sends the invitee to its connection's sign-in; the membership stays INVITED and the link unused until they arrive", async () => {
    const org = await w.org({ name: 'Strict org' });
    const { email, userId, link } = await invite(org.orgId, org.adminToken);
    ok(await gql('mutation($o: ID!) { setRequireSso(organizationId: $o, required: true) { id requireSso } }', { o: org.orgId }, org.adminToken));
    const loginUrl = `http://127.0.0.1:4000/saml/${w.connectionId}/login?organizationId=${org.orgId}`;
    const r = await open(link);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe(loginUrl);
    expect(r.headers.get('set-cookie')).toBeNull();
    expect(await (await open(link, true)).json()).toEqual({ sso: { connectionId: w.connectionId, loginUrl } });
    expect(await status(org.orgId, userId)).toBe('INVITED');
    // They arrive through the IdP: the SAML sign-in enters the organization.
    const signIn = await w.post(await w.samlify({ nameId: email }), { relayState: org.orgId, json: true });
    expect(signIn.status, signIn.text).toBe(200);
    expect(await status(org.orgId, userId)).toBe('ACTIVE');
  });
});
