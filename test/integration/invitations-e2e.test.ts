/**
 * inviteUser through GraphQL on a gateway configured with SMTP_URL: the invitation
 * reaches a real SMTP server started here, once, after the mutation commits.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { rows } from '../kit/db.js';
import { type Gateway, startGateway } from '../kit/gateway.js';

let smtp: SMTPServer;
let gw: Gateway;
const received: { to: string[]; raw: string }[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as AddressInfo).port;
  gw = await startGateway({ env: { SMTP_URL: `smtp://127.0.0.1:${port}`, ORGWAY_MAIL_FROM: 'Acme <no-reply@acme.test>' } });
});
afterAll(async () => {
  await gw?.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

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
  expect(await waitFor(() => received.length > 0)).toBe(true);
  expect(received[0]!.to).toEqual(['carol@example.com']);
  expect(received[0]!.raw).toMatch(/Subject: You are invited to Invite Co/);
  expect(received[0]!.raw).toContain(admin.email);
  // Delivered once, and recorded as sent.
  await new Promise((r) => setTimeout(r, 500));
  expect(received).toHaveLength(1);
  const found = await rows<{ sent_at: string | null }>(gw, 'select sent_at from outbox_emails');
  expect(found).toHaveLength(1);
  expect(found[0]!.sent_at).not.toBeNull();
});

test('a refused invitation writes no email', async () => {
  const admin = await gw.bootstrap('Refusing Co');
  const before = received.length;
  const r = await gw.gql<any>('mutation($o: ID!) { inviteUser(organizationId: $o, email: "not-an-email") { status } }', { o: admin.orgId }, admin.token);
  expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const found = await rows<{ n: number }>(gw, "select count(*)::int as n from outbox_emails where to_address = 'not-an-email'");
  expect(found[0]!.n).toBe(0);
  await new Promise((r) => setTimeout(r, 300));
  expect(received.length).toBe(before);
});
