/** Admin use cases on memberships, and entering an organization. */
import { Membership, type MembershipEntity, Session, TeamMember, User } from '../../persistence/entities.js';
import type { Em } from '../../persistence/orm.js';
import { type Principal, requireAccess } from '../access.js';
import { findOrCreateUser } from '../identity/identity-service.js';
import { enqueueInvitation } from '../invitations/outbox.js';
import {
  canEnter,
  DomainError,
  effectivePermissions,
  normalizeEmail,
  notFound,
  type OrganizationRole,
  transition,
  type UserStatus,
} from '../model/index.js';
import type { AccessToken, TokenService } from '../tokens/token-service.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';
import { membershipWriter } from './membership-writer.js';

export interface SwitchResult {
  membership: MembershipEntity;
  accessToken: AccessToken;
}

const memberNotFound = (userId: string, organizationId: string) =>
  new DomainError('NOT_FOUND', `User "${userId}" is not a member of organization "${organizationId}".`, { userId, organizationId });

export class MembershipService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly tokens: TokenService,
    private readonly appUrl: string,
    /** Wakes the outbox sender once an invitation is committed. */
    private readonly mailEnqueued: () => void = () => undefined,
  ) {}

  stageUser(principal: Principal, organizationId: string, email: string, role: OrganizationRole): Promise<MembershipEntity> {
    const normalized = normalizeEmail(email);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { organization } = await requireAccess(uow.em, principal, organizationId, 'admin');
      const user = await findOrCreateUser(uow, normalized);
      const existing = await uow.em.findOne(Membership, { user, organization });
      transition('STAGE', existing?.status ?? null, 'STAGED');
      return membershipWriter(uow).join(user, organization, { role, status: 'STAGED', source: 'MANUAL' });
    });
  }

  inviteUser(principal: Principal, organizationId: string, email: string, role: OrganizationRole): Promise<MembershipEntity> {
    const normalized = normalizeEmail(email);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { organization } = await requireAccess(uow.em, principal, organizationId, 'admin');
      const user = await findOrCreateUser(uow, normalized);
      const existing = await uow.em.findOne(Membership, { user, organization });
      transition('INVITE', existing?.status ?? null, 'INVITED');
      const writer = membershipWriter(uow);
      let m: MembershipEntity;
      if (existing) {
        await this.guardLastAdmin(uow.em, existing, role, 'INVITED');
        writer.setRole(existing, role);
        writer.setStatus(existing, 'INVITED');
        m = existing;
      } else m = writer.join(user, organization, { role, status: 'INVITED', source: 'MANUAL' });
      const inviter = await uow.em.findOne(User, { id: principal.userId });
      enqueueInvitation(uow, {
        to: normalized,
        organizationId: organization.id,
        organizationName: organization.name,
        invitedBy: inviter?.email ?? null,
        appUrl: this.appUrl,
      });
      uow.afterCommit(this.mailEnqueued);
      return m;
    });
  }

  setMembershipStatus(principal: Principal, organizationId: string, userId: string, status: UserStatus): Promise<MembershipEntity> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      const m = await this.target(uow, organizationId, userId);
      if (m.status === status) return m; // nothing to change, nothing recorded
      transition('SET_STATUS', m.status, status);
      await this.guardLastAdmin(uow.em, m, m.role, status);
      membershipWriter(uow).setStatus(m, status);
      return m;
    });
  }

  setMembershipRole(principal: Principal, organizationId: string, userId: string, role: OrganizationRole): Promise<MembershipEntity> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      const m = await this.target(uow, organizationId, userId);
      await this.guardLastAdmin(uow.em, m, role, m.status);
      membershipWriter(uow).setRole(m, role);
      return m;
    });
  }

  removeMember(principal: Principal, organizationId: string, userId: string): Promise<boolean> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      const m = await this.target(uow, organizationId, userId);
      await this.guardLastAdmin(uow.em, m, null, null);
      membershipWriter(uow).leave(m);
      return true;
    });
  }

  /**
   * The user enters an organization: STAGED/INVITED become ACTIVE (never DISABLED),
   * it becomes the last visited one and the session's current one, and an access token is issued.
   */
  async switchOrganization(principal: Principal, organizationId: string): Promise<SwitchResult> {
    const { membership, permissions } = await this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { membership } = await requireAccess(uow.em, principal, organizationId, 'enter');
      const writer = membershipWriter(uow);
      writer.setStatus(membership, transition('ENTER', membership.status, 'ACTIVE'));
      writer.recordVisit(membership);
      const user = await uow.em.findOneOrFail(User, { id: principal.userId });
      user.lastVisitedOrganization = membership.organization;
      user.updatedAt = uow.now;
      const session = await uow.em.findOne(Session, { id: principal.sessionId });
      if (session) session.currentOrganization = membership.organization;
      const teams = await uow.em.find(TeamMember, { membership }, { populate: ['team'] });
      return { membership, permissions: effectivePermissions(membership, teams.map((t) => t.team.$.policies)) };
    });
    const accessToken = await this.tokens.issue({
      userId: principal.userId,
      sessionId: principal.sessionId,
      organizationId,
      role: membership.role,
      permissions,
    });
    return { membership, accessToken };
  }

  private async target(uow: UnitOfWork, organizationId: string, userId: string): Promise<MembershipEntity> {
    const m = await uow.em.findOne(Membership, { user: userId, organization: organizationId }, { populate: ['organization'] });
    if (!m) throw memberNotFound(userId, organizationId);
    return m;
  }

  /**
   * An organization keeps at least one ORG_ADMIN who can enter it; a change that
   * would leave none is refused (CONFLICT), whoever asks for it.
   */
  private async guardLastAdmin(em: Em, m: MembershipEntity, nextRole: OrganizationRole | null, nextStatus: UserStatus | null): Promise<void> {
    const wasAdmin = m.role === 'ORG_ADMIN' && canEnter(m);
    const staysAdmin = nextRole === 'ORG_ADMIN' && nextStatus !== null && canEnter({ role: nextRole, status: nextStatus });
    if (!wasAdmin || staysAdmin) return;
    const others = await em.count(Membership, {
      organization: m.organization.id,
      role: 'ORG_ADMIN',
      status: { $ne: 'DISABLED' },
      id: { $ne: m.id },
    });
    if (others === 0)
      throw new DomainError(
        'CONFLICT',
        `This would leave organization "${m.organization.id}" without an ORG_ADMIN; make another member ORG_ADMIN first.`,
        { organizationId: m.organization.id },
      );
  }
}

export { notFound };
