/**
 * A real SMTP server on loopback that keeps what it receives, with the text of each
 * message decoded (quoted-printable) so tests read codes and links as a person would.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll } from 'vitest';
import { started } from './started.js';

export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
  raw: string;
}

export interface Mailbox {
  url: string;
  received: ReceivedMail[];
  /** Waits for the next message to `to` received after `since` messages (default: any time). */
  next(to: string, since?: number, ms?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

const decodeQuotedPrintable = (s: string): string =>
  Buffer.from(s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');

const parse = (raw: string, to: string[]): ReceivedMail => {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1] ?? '';
  const qp = /quoted-printable/i.test(header('Content-Transfer-Encoding'));
  return { to, subject: header('Subject'), text: qp ? decodeQuotedPrintable(body) : body, raw };
};

export const startMailbox = async (): Promise<Mailbox> => {
  const received: ReceivedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        received.push(parse(raw, session.envelope.rcptTo.map((r) => r.address)));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    async next(to, since = 0, ms = 10_000) {
      const until = Date.now() + ms;
      for (;;) {
        const found = received.slice(since).find((m) => m.to.includes(to));
        if (found) return found;
        if (Date.now() > until) throw new Error(`no email to ${to} within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
};

/** A mailbox for the file (or describe block): listening before its tests, closed after them. */
export const useMailbox = (): Mailbox => {
  const handle = started<Mailbox>('useMailbox');
  beforeAll(async () => handle.set(await startMailbox()));
  afterAll(() => handle.current()?.close());
  return handle.value;
};

/** The 6-digit code and the link of an email sign-in message. */
export const codeAndLink = (mail: ReceivedMail): { code: string; link: string; token: string } => {
  const code = /^\s+(\d{6})\s*$/m.exec(mail.text)?.[1];
  const link = /(https?:\/\/\S+\/auth\/email\/verify\?token=\S+)/.exec(mail.text)?.[1];
  if (!code || !link) throw new Error(`no code or link in:\n${mail.text}`);
  return { code, link, token: decodeURIComponent(new URL(link).searchParams.get('token')!) };
};
