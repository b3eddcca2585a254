/**
 * Outgoing email, written in the same transaction as the change that causes it
 * (transactional outbox); the sender delivers it after commit (invitations/sender.ts).
 */
import { OutboxEmail } from '../../persistence/entities.js';
import { newId } from '../runtime.js';
import type { UnitOfWork } from '../unit-of-work.js';

export interface InvitationEmail {
  to: string;
  organizationName: string;
  invitedBy: string | null;
  /** `{PUBLIC_URL}/invitations/<token>`: single use, 7 days. */
  link: string;
  expiresAt: Date;
}

export interface OutgoingEmail {
  kind: string;
  to: string;
  subject: string;
  text: string;
}

export const enqueueEmail = (uow: UnitOfWork, email: OutgoingEmail): string => {
  const row = uow.em.create(OutboxEmail, {
    id: newId('eml'),
    kind: email.kind,
    toAddress: email.to,
    subject: email.subject,
    textBody: email.text,
    createdAt: uow.now,
    nextAttemptAt: uow.now,
    attempts: 0,
    lockedUntil: null,
    sentAt: null,
    lastError: null,
  });
  return row.id;
};

export const enqueueInvitation = (uow: UnitOfWork, inv: InvitationEmail): string => {
  const by = inv.invitedBy ? `${inv.invitedBy} invited you` : 'You have been invited';
  return enqueueEmail(uow, {
    kind: 'INVITATION',
    to: inv.to,
    subject: `You are invited to ${inv.organizationName}`,
    text:
      `${by} to join ${inv.organizationName}.\n\n` +
      `Open this link to accept and sign in:\n\n    ${inv.link}\n\n` +
      `The link works once and expires on ${inv.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.\n` +
      `If you did not expect this invitation, ignore this email.\n`,
  });
};
