/**
 * Invitation links (SPEC §7): `inviteUser` and `resendInvitation` send
 * `{PUBLIC_URL}/invitations/<token>` (single use, 7 days, stored as SHA-256). Opening it
 * proves control of the mailbox (`EMAIL`) and enters the organization (INVITED → ACTIVE,
 * actor `user:<invitee>`); an organization that requires SSO sends the invitee to its
 * connection instead, and the link stays unused until then.
 */
import { LockMode } from '@mikro-orm/core';
import { Invitation } from '../../persistence/auth-entities.js';
import { Membership, type MembershipEntity, type OrganizationEntity, type UserEntity } from '../../persistence/entities.js';
import { completeEmailSignIn, type EmailSignInResult } from '../email-sign-in/email-sign-in-service.js';
import { ssoConnectionOf, type SsoRoute } from '../email-sign-in/sso-route.js';
import { hashSecret } from '../identity/identity-service.js';
import { membershipWriter } from '../membership/membership-writer.js';
import { canEnter, DomainError, transition } from '../model/index.js';
import { newId, newSecret } from '../runtime.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';
import { enqueueInvitation } from './outbox.js';

export const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

/** Ends the membership's live invitation links (a resend replaces them, a revoke revokes them). */
export const endInvitations = (uow: UnitOfWork, organizationId: string, userId: string, reason: 'REVOKED' | 'REPLACED'): Promise<unknown> =>
  uow.em.execute('update invitations set ended_at = ?, ended_reason = ? where organization_id = ? and user_id = ? and ended_at is null and expires_at > ?', [
    uow.now,
    reason,
    organizationId,
    userId,
    uow.now,
  ]);

/** A new invitation link for the membership, emailed through the outbox; earlier links stop working. */
export const issueInvitation = async (
  uow: UnitOfWork,
  input: { organization: OrganizationEntity; user: UserEntity; invitedBy: string | null; publicUrl: string },
): Promise<void> => {
  await endInvitations(uow, input.organization.id, input.user.id, 'REPLACED');
  const token = newSecret('ogwi');
  const expiresAt = new Date(uow.now.getTime() + INVITATION_TTL_MS);
  uow.em.create(Invitation, {
    id: newId('inv'),
    organization: input.organization,
    user: input.user,
    tokenHash: hashSecret(token),
    createdAt: uow.now,
    expiresAt,
    endedAt: null,
    endedReason: null,
  });
  enqueueInvitation(uow, {
    to: input.user.email,
    organizationName: input.organization.name,
    invitedBy: input.invitedBy,
    link: `${input.publicUrl}/invitations/${token}`,
    expiresAt,
  });
};

/** Named outcome of opening an invitation link. */
export type InvitationOutcome = { kind: 'SIGNED_IN'; result: EmailSignInResult } | { kind: 'SSO'; route: SsoRoute };

interface InvitationRow {
  id: string;
  organization_id: string;
  user_id: string;
  expires_at: string | Date;
  ended_reason: 'USED' | 'REVOKED' | 'REPLACED' | null;
}

const invalidLink = () =>
  new DomainError('INVALID_LINK', 'This invitation link is not valid. Open the link from the invitation email exactly as it was sent, or ask the person who invited you to send a new one.');

export class InvitationService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly sessionTtlSeconds: number,
  ) {}

  /** GET /invitations/<token>. */
  async accept(token: string, browserSecret: string | null): Promise<InvitationOutcome> {
    if (!token || token.length > 200) throw invalidLink();
    const tokenHash = hashSecret(token);
    // Who is accepting decides the events' actor, so it is read before the transaction (and again, locked, inside).
    const found = await this.tx.sql.execute<{ user_id: string }[]>('select user_id from invitations where token_hash = ?', [tokenHash]);
    if (!found[0]) throw invalidLink();
    return this.tx.run({ kind: 'user', userId: found[0].user_id }, async (uow) => {
      const rows = await uow.em.execute<InvitationRow[]>(
        'select id, organization_id, user_id, expires_at, ended_reason from invitations where token_hash = ? for update',
        [tokenHash],
      );
      const inv = rows[0];
      if (!inv) throw invalidLink();
      if (inv.ended_reason === 'USED')
        throw new DomainError('INVITATION_USED', 'This invitation link was already used. Sign in with your email instead (you are already a member).');
      if (inv.ended_reason === 'REVOKED' || inv.ended_reason === 'REPLACED')
        throw new DomainError(
          'INVITATION_REVOKED',
          inv.ended_reason === 'REPLACED'
            ? 'This invitation link was replaced by a newer one: open the link in the latest invitation email.'
            : 'This invitation was revoked by an administrator of the organization. Ask them to invite you again.',
        );
      if (new Date(inv.expires_at) <= uow.now)
        throw new DomainError('INVITATION_EXPIRED', 'This invitation link has expired (they last 7 days). Ask an administrator of the organization to send it again.');

      const membership = await uow.em.findOne(
        Membership,
        { user: inv.user_id, organization: inv.organization_id },
        { populate: ['organization', 'user'], lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
      );
      if (!membership) throw new DomainError('INVITATION_REVOKED', 'This invitation is no longer valid: you were removed from the organization. Ask its administrators to invite you again.');
      if (!canEnter(membership))
        throw new DomainError('NO_ACCESS', 'Your membership in this organization cannot be entered (it is DISABLED or has no access). Ask one of its administrators.');
      const organization = membership.organization.getEntity();
      if (organization.requireSso) {
        const connectionId = await ssoConnectionOf(uow.em, organization.id);
        if (!connectionId)
          throw new DomainError('NO_ACCESS', 'This organization requires single sign-on but has no SSO connection set up. Ask one of its administrators.');
        return { kind: 'SSO', route: { connectionId, organizationId: organization.id } };
      }
      await uow.em.execute("update invitations set ended_at = ?, ended_reason = 'USED' where id = ?", [uow.now, inv.id]);
      enter(uow, membership);
      await uow.em.flush(); // the sign-in reads memberships with SQL
      const result = await completeEmailSignIn(uow, membership.user.getEntity(), {
        createUser: false,
        ttlSeconds: this.sessionTtlSeconds,
        browserSecret,
        forcedOrganizationId: organization.id,
      });
      return { kind: 'SIGNED_IN', result: result! };
    });
  }
}

/** The invitee enters the organization: INVITED/STAGED → ACTIVE through the membership writer. */
const enter = (uow: UnitOfWork, m: MembershipEntity): void => {
  const writer = membershipWriter(uow);
  writer.setStatus(m, transition('ENTER', m.status, 'ACTIVE'));
  writer.recordVisit(m);
};
