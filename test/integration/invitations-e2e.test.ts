/**
 * inviteUser through GraphQL on a gateway configured with SMTP_URL: the invitation
 * reaches a real SMTP server (the kit's mailbox), once, after the mutation commits.
 */
import { expect, test } from 'vitest';
import { rows } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { useMailbox } from '../kit/mailbox.js';

const mail = useMailbox();
const gw = useGateway(() => ({ env: { SMTP_URL: mail.url, ORGWAY_MAIL_FROM: 'Acme <no-reply@acme.test>' } }));
const waitFor = async (check: () => boolean, ms = 10_000) => {
  const until = Date.now() + ms;
  while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return check();
};

test('inviteUser sends one invitation email by SMTP after the mutation commits', async () => {
  const admin = await gw.bootstrap('Invite Co');
  const r = await gw.gql<any>(
    'mutation($o: ID!) { inviteUser(organizationId: $o, email: "Carol@Example.com", role: VIEWER) { status role user { email } } }',
    { o: admin.orgId },
    admin.token,
  );
  expect(r.errors).toBeUndefined();
  expect(r.data.inviteUser).toEqual({ status: 'INVITED', role: 'VIEWER', user: { email: 'carol@example.com' } });
  expect(await waitFor(() => mail.received.length > 0)).toBe(true);
  expect(mail.received[0]!.to).toEqual(['carol@example.com']);
  expect(mail.received[0]!.raw).toMatch(/Subject: You are invited to Invite Co/);
  expect(mail.received[0]!.raw).toContain(admin.email);
  // Delivered once, and recorded as sent.
  await new Promise((r) => setTimeout(r, 500));
  expect(mail.received).toHaveLength(1);
  const found = await rows<{ sent_at: string | null }>(gw, 'select sent_at from outbox_emails');
  expect(found).toHaveLength(1);
  expect(found[0]!.sent_at).not.toBeNull();
});

test('a refused invitation writes no email', async () => {
  const admin = await gw.bootstrap('Refusing Co');
  const before = mail.received.length;
  const r = await gw.gql<any>('mutation($o: ID!) { inviteUser(organizationId: $o, email: "not-an-email") { status } }', { o: admin.orgId }, admin.token);
  expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const found = await rows<{ n: number }>(gw, "select count(*)::int as n from outbox_emails where to_address = 'not-an-email'");
  expect(found[0]!.n).toBe(0);
  await new Promise((r) => setTimeout(r, 300));
  expect(mail.received.length).toBe(before);
});
