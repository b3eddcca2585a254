/**
 * The invitation outbox end to end: rows written in a use case's transaction,
 * delivered by OutboxSender through nodemailer to a real SMTP server (smtp-server).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerError } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, expect, test, vi } from 'vitest';
import { enqueueInvitation } from '../../src/domain/invitations/outbox.js';
import { OutboxSender, type OutboxSenderOptions } from '../../src/domain/invitations/sender.js';
import { type Clock, systemClock } from '../../src/domain/runtime.js';
import { createTransactionRunner, type UnitOfWork } from '../../src/domain/unit-of-work.js';
import type { Database } from '../../src/persistence/orm.js';
import { createSmtpTransport } from '../../src/adapters/smtp-transport.js';
import { rows, useDatabase } from '../kit/db.js';

interface Received {
  rcptTo: string[];
  headers: Map<string, string>;
  raw: string;
}

interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** Raw rows: MikroORM leaves timestamps as the driver's text. */
interface OutboxRow {
  id: string;
  attempts: number;
  sent_at: string | null;
  locked_until: string | null;
  last_error: string | null;
}

const t = useDatabase();
let smtp: SMTPServer;
let smtpUrl: string;
let received: Received[] = [];
/** How many of the next DATA commands the server answers with 451. */
let rejectNext = 0;

const parseHeaders = (raw: string): Map<string, string> => {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return headers;
};

const recordingLog = () => {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg?: string) => entries.push({ level, obj: obj as Record<string, unknown>, msg });
  return { entries, log: { info: at('info'), warn: at('warn'), error: at('error') } };
};

const newSender = (options: Partial<OutboxSenderOptions> = {}) =>
  new OutboxSender({
    db: t.db,
    transport: createSmtpTransport(smtpUrl),
    from: 'orgway <no-reply@orgway.test>',
    log: recordingLog().log,
    ...options,
  });

const invite = (db: Database, to: string, also?: (uow: UnitOfWork) => void): Promise<string> =>
  createTransactionRunner(db, systemClock).run({ kind: 'system' }, async (uow) => {
    const id = enqueueInvitation(uow, {
      to,
      organizationName: 'Acme',
      invitedBy: 'admin@acme.test',
      link: 'https://orgway.test/invitations/ogwi_test',
      expiresAt: new Date(Date.now() + 7 * 86_400_000),
    });
    also?.(uow);
    return id;
  });

const outbox = (): Promise<OutboxRow[]> =>
  rows<OutboxRow>(t, 'select id, attempts, sent_at, locked_until, last_error from outbox_emails order by id');

const row = async (id: string): Promise<OutboxRow> => {
  const found = (await outbox()).find((r) => r.id === id);
  if (!found) throw new Error(`no outbox row ${id}`);
  return found;
};

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (rejectNext > 0) {
          rejectNext--;
          const error: SMTPServerError = Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 });
          return callback(error);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({ rcptTo: session.envelope.rcptTo.map((a) => a.address), headers: parseHeaders(raw), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (smtp) await new Promise<void>((resolve) => smtp.close(resolve));
});

beforeEach(async () => {
  await rows(t, 'delete from outbox_emails');
  received = [];
  rejectNext = 0;
});

test('an invitation committed in a use case is delivered once, with a deterministic Message-ID', async () => {
  let woken = false;
  const id = await invite(t.db, 'new.user@example.test', (uow) => uow.afterCommit(() => (woken = true)));
  expect(woken).toBe(true);

  const sender = newSender();
  expect(await sender.deliverDue()).toEqual({ sent: 1, failed: 0 });
  expect(received).toHaveLength(1);
  const [mail] = received;
  expect(mail?.rcptTo).toEqual(['new.user@example.test']);
  expect(mail?.headers.get('to')).toBe('new.user@example.test');
  expect(mail?.headers.get('subject')).toBe('You are invited to Acme');
  expect(mail?.headers.get('message-id')).toBe(`<${id}@orgway>`);
  expect(mail?.raw).toContain('https://orgway.test/invitations/ogwi_test');

  const r = await row(id);
  expect(r.sent_at).not.toBeNull();
  expect(r.attempts).toBe(1);
  expect(r.locked_until).toBeNull();

  // Marked sent: later passes never pick it up again.
  expect(await sender.deliverDue()).toEqual({ sent: 0, failed: 0 });
  expect(received).toHaveLength(1);
});

test('a temporary rejection is retried after the backoff and the email arrives exactly once', async () => {
  let offset = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offset) };
  const { entries, log } = recordingLog();
  const sender = newSender({ clock, log, backoffMs: () => 60_000 });
  const id = await invite(t.db, 'retry@example.test');
  rejectNext = 1;

  expect(await sender.deliverDue()).toEqual({ sent: 0, failed: 1 });
  const failed = await row(id);
  expect(failed).toMatchObject({ attempts: 1, sent_at: null, locked_until: null });
  expect(failed.last_error).toContain('451');
  expect(entries.some((e) => e.level === 'warn' && e.obj.emailId === id)).toBe(true);

  // Not due again until the backoff has passed.
  expect(await sender.deliverDue()).toEqual({ sent: 0, failed: 0 });
  offset = 61_000;
  expect(await sender.deliverDue()).toEqual({ sent: 1, failed: 0 });

  expect(received).toHaveLength(1);
  expect(received[0]?.headers.get('message-id')).toBe(`<${id}@orgway>`);
  const sent = await row(id);
  expect(sent.attempts).toBe(2);
  expect(sent.sent_at).not.toBeNull();
});

test('after maxAttempts the row is given up: left unsent with its last error, and logged', async () => {
  const { entries, log } = recordingLog();
  const sender = newSender({ log, maxAttempts: 2, backoffMs: () => 0 });
  const id = await invite(t.db, 'never@example.test');
  rejectNext = 100;

  expect(await sender.deliverDue()).toEqual({ sent: 0, failed: 1 });
  expect(await sender.deliverDue()).toEqual({ sent: 0, failed: 1 });
  expect(await sender.deliverDue()).toEqual({ sent: 0, failed: 0 });

  const r = await row(id);
  expect(r).toMatchObject({ attempts: 2, sent_at: null });
  expect(r.last_error).toContain('451');
  expect(entries.filter((e) => e.level === 'error' && e.obj.emailId === id)).toHaveLength(1);
  expect(received).toHaveLength(0);
});

test('two instances delivering at the same time send each email exactly once', async () => {
  const db2 = await t.open();
  const ids: string[] = [];
  // More than one batch (20), so both instances get work and passes overlap.
  for (let i = 0; i < 45; i++) ids.push(await invite(i % 2 ? db2 : t.db, `user${i}@example.test`));

  const senders = [newSender({ db: t.db }), newSender({ db: db2 })];
  const drain = async (sender: OutboxSender): Promise<number> => {
    let total = 0;
    for (;;) {
      const { sent, failed } = await sender.deliverDue();
      expect(failed).toBe(0);
      if (sent === 0) return total;
      total += sent;
    }
  };
  // Several concurrent passes per instance as well as across instances.
  const counts = await Promise.all([...senders, ...senders].map(drain));
  expect(counts.reduce((a, b) => a + b, 0)).toBe(ids.length);

  const messageIds = received.map((m) => m.headers.get('message-id'));
  expect(messageIds).toHaveLength(ids.length);
  expect(new Set(messageIds)).toEqual(new Set(ids.map((id) => `<${id}@orgway>`)));
  const all = await outbox();
  expect(all.every((r) => r.sent_at !== null && r.attempts === 1)).toBe(true);
});

test('a rolled-back transaction leaves no outbox row and sends nothing', async () => {
  let woken = false;
  await expect(
    invite(t.db, 'rolled.back@example.test', (uow) => {
      uow.afterCommit(() => (woken = true));
      throw new Error('use case failed after enqueueing');
    }),
  ).rejects.toThrow('use case failed');
  expect(woken).toBe(false);
  expect(await outbox()).toEqual([]);
  expect(await newSender().deliverDue()).toEqual({ sent: 0, failed: 0 });
  expect(received).toHaveLength(0);
});

test('without SMTP the email is logged and marked sent', async () => {
  const { entries, log } = recordingLog();
  const sender = newSender({ transport: null, log });
  const id = await invite(t.db, 'dev@example.test');

  expect(await sender.deliverDue()).toEqual({ sent: 1, failed: 0 });
  expect((await row(id)).sent_at).not.toBeNull();
  const logged = entries.find((e) => e.level === 'info' && e.obj.emailId === id);
  expect(logged?.obj.email).toMatchObject({ to: 'dev@example.test', subject: 'You are invited to Acme', messageId: `<${id}@orgway>` });
  expect(received).toHaveLength(0);
  expect(await sender.deliverDue()).toEqual({ sent: 0, failed: 0 });
});

test('a started sender delivers soon after wake() and stop() waits for it', async () => {
  // Poll interval far beyond the test: only wake() can explain a prompt delivery.
  const sender = newSender({ pollIntervalMs: 3_600_000 });
  sender.start();
  const id = await invite(t.db, 'woken@example.test', (uow) => uow.afterCommit(() => sender.wake()));
  await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 5_000 });
  await sender.stop();
  expect(received[0]?.headers.get('message-id')).toBe(`<${id}@orgway>`);
  expect((await row(id)).sent_at).not.toBeNull();
});
