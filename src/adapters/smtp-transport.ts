/** Fills the outbox sender's MailTransport port with nodemailer over SMTP. */
import { createTransport } from 'nodemailer';
import type { MailTransport } from '../domain/invitations/sender.js';

/**
 * `smtpUrl`: e.g. `smtp://user:pass@host:587` or `smtps://…:465`; query parameters
 * (`?connectionTimeout=…`) override the defaults below.
 */
export const createSmtpTransport = (smtpUrl: string): MailTransport => {
  const transporter = createTransport({
    url: smtpUrl,
    // nodemailer waits up to 2 min to connect and 10 min on an idle socket by default;
    // a send must end well inside the sender's lease (lockMs, 5 min) or another
    // instance may claim and send the same row.
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  });
  return {
    async send(message) {
      await transporter.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: message.messageId,
      });
    },
    close: () => transporter.close(),
  };
};
