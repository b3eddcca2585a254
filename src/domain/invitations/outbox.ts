/**
 * Outgoing email, written in the same transaction as the change that causes it
 * (transactional outbox); the sender delivers it after commit (invitations/sender.ts).
 */
import { OutboxEmail } from '../../persistence/entities.js';
import { newId } from '../runtime.js';
import type { UnitOfWork } from '../unit-of-work.js';

export interface InvitationEmail {
  to: string;
  organizationId: string;
  organizationName: string;
  invitedBy: string | null;
  appUrl: string;
}

export const enqueueInvitation = (uow: UnitOfWork, inv: InvitationEmail): string => {
  const link = `${inv.appUrl.replace(/\/$/, '')}/?organizationId=${encodeURIComponent(inv.organizationId)}`;
  const by = inv.invitedBy ? `${inv.invitedBy} invited you` : 'You have been invited';
  const row = uow.em.create(OutboxEmail, {
    id: newId('eml'),
    kind: 'INVITATION',
    toAddress: inv.to,
    subject: `You are invited to ${inv.organizationName}`,
    textBody: `${by} to join ${inv.organizationName}.\n\nSign in to accept: ${link}\n`,
    createdAt: uow.now,
    nextAttemptAt: uow.now,
    attempts: 0,
    lockedUntil: null,
    sentAt: null,
    lastError: null,
  });
  return row.id;
};
