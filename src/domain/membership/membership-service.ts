/** Admin use cases on memberships, and entering an organization. */
import { LockMode } from '@mikro-orm/core';
import { Membership, type MembershipEntity, type OrganizationEntity, Session, TeamMember, User, type UserEntity } from '../../persistence/entities.js';
import type { Em } from '../../persistence/orm.js';
import { executePrepared } from '../../persistence/orm.js';
import { acceptsParams, acceptsSql, assertAccess, organizationNotFound, type Principal, requireAccess } from '../access.js';
import { findOrCreateUser } from '../identity/identity-service.js';
import { endInvitations, issueInvitation } from '../invitations/invitation-service.js';
import {
  allowedTargets,
  canEnterSql,
  DomainError,
  effectivePermissions,
  type MembershipView,
  normalizeEmail,
  type OrganizationRole,
  type OrganizationView,
  type StatusChangeCause,
  transition,
  type UserStatus,
} from '../model/index.js';
import { M_COLS, membershipFromRow, O_COLS, organizationFromRow, type Row } from '../../persistence/read/row-views.js';
import { membershipView, organizationView } from '../read/views.js';
import type { AccessToken, TokenService } from '../tokens/token-service.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';
import { membershipWriter } from './membership-writer.js';

export interface SwitchResult {
  membership: MembershipView;
  organization: OrganizationView;
  /** Effective permissions at the moment of entering (also in the access token). */
  permissions: string[];
  accessToken: AccessToken;
}

const memberNotFound = (userId: string, organizationId: string) =>
  new DomainError('NOT_FOUND', `User "${userId}" is not a member of organization "${organizationId}".`, { userId, organizationId });

/**
 * Serialises the admin changes of one organization (row lock on the organization until
 * commit), so two concurrent changes cannot both pass the last-ORG_ADMIN check, and the
 * caller's own ORG_ADMIN membership is read after any concurrent change to it committed.
 * NO KEY UPDATE does not block inserts that merely reference the organization.
 */
export const lockOrganization = async (em: Em, organizationId: string): Promise<void> => {
  await em.execute('select id from organizations where id = ? for no key update', [organizationId]);
};

/**
 * stageUser/inviteUser on someone who is already a member: the status machine refuses it;
 * the message also says which command would do what the caller probably wants.
 */
const checkExisting = (cause: StatusChangeCause, command: string, existing: MembershipEntity | null, to: UserStatus): void => {
  if (!existing) {
    transition(cause, null, to);
    return;
  }
  try {
    transition(cause, existing.status, to);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const s = existing.status;
    const adds = cause === 'STAGE' ? 'adds new members only' : 'adds new members or invites STAGED ones';
    const viaStatus = allowedTargets('SET_STATUS', s);
    const advice = [
      viaStatus.length ? `setMembershipStatus allows ${s} → ${viaStatus.join(' or ')}` : null,
      cause === 'STAGE' && s === 'STAGED' ? 'inviteUser sends a STAGED member the invitation' : null,
      'setMembershipRole changes the role',
    ].filter(Boolean);
    throw new DomainError(
      error.code,
      `${error.message} The user is already a member of organization "${existing.organization.id}" with status ${s}, and ${command} ${adds}; ${advice.join('; ')}.`,
      { ...error.details, userId: existing.user.id },
    );
  }
};

export class MembershipService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly tokens: TokenService,
    /** `{PUBLIC_URL}`: invitation links point at `/invitations/<token>` there. */
    private readonly publicUrl: string,
    /** Wakes the outbox sender once an invitation is committed. */
    private readonly mailEnqueued: () => void = () => undefined,
  ) {}

  stageUser(principal: Principal, organizationId: string, email: string, role: OrganizationRole): Promise<MembershipEntity> {
    const normalized = normalizeEmail(email);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { organization } = await this.requireAdmin(uow, principal, organizationId);
      const user = await findOrCreateUser(uow, normalized);
      const existing = await uow.em.findOne(Membership, { user, organization });
      checkExisting('STAGE', 'stageUser', existing, 'STAGED');
      return membershipWriter(uow).join(user, organization, { role, status: 'STAGED', source: 'MANUAL' });
    });
  }

  inviteUser(principal: Principal, organizationId: string, email: string, role: OrganizationRole): Promise<MembershipEntity> {
    const normalized = normalizeEmail(email);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { organization } = await this.requireAdmin(uow, principal, organizationId);
      const user = await findOrCreateUser(uow, normalized);
      const existing = await uow.em.findOne(Membership, { user, organization });
      checkExisting('INVITE', 'inviteUser', existing, 'INVITED');
      const writer = membershipWriter(uow);
      let m: MembershipEntity;
      if (existing) {
        await guardLastOrgAdmin(uow.em, existing, role, 'INVITED');
        writer.setRole(existing, role);
        writer.setStatus(existing, 'INVITED');
        m = existing;
      } else m = writer.join(user, organization, { role, status: 'INVITED', source: 'MANUAL' });
      await this.sendInvitation(uow, principal, organization, user);
      return m;
    });
  }

  /** A new invitation link for an INVITED member (earlier links stop working). Needs ORG_ADMIN. */
  resendInvitation(principal: Principal, organizationId: string, userId: string): Promise<MembershipEntity> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { organization } = await this.requireAdmin(uow, principal, organizationId);
      const m = await this.invited(uow, organizationId, userId, 'resendInvitation');
      await this.sendInvitation(uow, principal, organization, m.user.getEntity());
      return m;
    });
  }

  /**
   * Withdraws an invitation: its links stop working and the INVITED membership is removed
   * (a LEFT event), so the invitee cannot enter by signing in some other way either. Needs ORG_ADMIN.
   */
  revokeInvitation(principal: Principal, organizationId: string, userId: string): Promise<boolean> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await this.requireAdmin(uow, principal, organizationId);
      const m = await this.invited(uow, organizationId, userId, 'revokeInvitation');
      await endInvitations(uow, organizationId, userId, 'REVOKED');
      membershipWriter(uow).leave(m);
      return true;
    });
  }

  private async sendInvitation(uow: UnitOfWork, principal: Principal, organization: OrganizationEntity, user: UserEntity): Promise<void> {
    const inviter = await uow.em.findOne(User, { id: principal.userId });
    await issueInvitation(uow, { organization, user, invitedBy: inviter?.email ?? null, publicUrl: this.publicUrl });
    uow.afterCommit(this.mailEnqueued);
  }

  /** The target membership, which must be INVITED for the invitation commands. */
  private async invited(uow: UnitOfWork, organizationId: string, userId: string, command: string): Promise<MembershipEntity> {
    const m = await this.target(uow, organizationId, userId);
    if (m.status !== 'INVITED')
      throw new DomainError(
        'CONFLICT',
        `${command} applies to INVITED members only; user "${userId}" is ${m.status} in organization "${organizationId}".` +
          (m.status === 'STAGED' ? ' inviteUser invites a STAGED member.' : ''),
        { userId, organizationId, status: m.status },
      );
    await uow.em.populate(m, ['user']);
    return m;
  }

  setMembershipStatus(principal: Principal, organizationId: string, userId: string, status: UserStatus): Promise<MembershipEntity> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await this.requireAdmin(uow, principal, organizationId);
      const m = await this.target(uow, organizationId, userId);
      if (m.status === status) return m; // nothing to change, nothing recorded
      transition('SET_STATUS', m.status, status);
      await guardLastOrgAdmin(uow.em, m, m.role, status);
      membershipWriter(uow).setStatus(m, status);
      return m;
    });
  }

  setMembershipRole(principal: Principal, organizationId: string, userId: string, role: OrganizationRole): Promise<MembershipEntity> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await this.requireAdmin(uow, principal, organizationId);
      const m = await this.target(uow, organizationId, userId);
      await guardLastOrgAdmin(uow.em, m, role, m.status);
      membershipWriter(uow).setRole(m, role);
      return m;
    });
  }

  removeMember(principal: Principal, organizationId: string, userId: string): Promise<boolean> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await this.requireAdmin(uow, principal, organizationId);
      const m = await this.target(uow, organizationId, userId);
      await guardLastOrgAdmin(uow.em, m, null, null);
      membershipWriter(uow).leave(m);
      return true;
    });
  }

  /**
   * The user enters an organization: STAGED/INVITED become ACTIVE (never DISABLED),
   * it becomes the last visited one and the session's current one, and an access token is issued.
   */
  async switchOrganization(principal: Principal, organizationId: string): Promise<SwitchResult> {
    const entered = (await this.revisitActive(principal, organizationId)) ?? (await this.enter(principal, organizationId));
    const accessToken = await this.tokens.issue({
      userId: principal.userId,
      sessionId: principal.sessionId,
      organizationId,
      role: entered.membership.role,
      permissions: entered.permissions,
    });
    return { ...entered, accessToken };
  }

  /**
   * The common case — the membership is already ACTIVE and can be entered — in one
   * statement: nothing but "last visited" changes, so no event and no explicit
   * transaction. The update re-checks status and role on the committed row, so a
   * concurrent DISABLE wins; null sends the caller down the full path (`enter`).
   */
  private async revisitActive(principal: Principal, organizationId: string): Promise<Omit<SwitchResult, 'accessToken'> | null> {
    const now = this.tx.now();
    const rows = await executePrepared<Row[]>(
      this.tx.sql,
        `with m as (
           update memberships set last_visited_at = ?
            where user_id = ? and organization_id = ? and status = 'ACTIVE' and ${canEnterSql('memberships')}
              and exists (select 1 from organizations o where o.id = ? and ${acceptsSql('o')})
           returning *
         ), visited_user as (
           update users set last_visited_organization_id = ?, updated_at = ? where id = ? and exists (select 1 from m)
         ), current_session as (
           update sessions set current_organization_id = ? where id = ? and exists (select 1 from m)
         )
         select ${M_COLS}, ${O_COLS},
                coalesce((select jsonb_agg(t.policies) from team_members tm join teams t on t.key = tm.team_key
                           where tm.membership_id = m.id), '[]'::jsonb) as team_policies
           from m join organizations o on o.id = m.organization_id`,
        [now, principal.userId, organizationId, organizationId, ...acceptsParams(principal), organizationId, now, principal.userId, organizationId, principal.sessionId],
    );
    const row = rows[0];
    if (!row) return null;
    const membership = membershipFromRow(row);
    const policies = (typeof row.team_policies === 'string' ? JSON.parse(row.team_policies) : row.team_policies) as string[][];
    return { membership, organization: organizationFromRow(row), permissions: effectivePermissions(membership, policies) };
  }

  /** Entering that may change the status (STAGED/INVITED → ACTIVE), or that is refused. */
  private async enter(principal: Principal, organizationId: string): Promise<Omit<SwitchResult, 'accessToken'>> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { membership } = await requireAccess(uow.em, principal, organizationId, 'enter');
      if (membership.status !== 'ACTIVE') {
        // Entering changes the status: read it again under a row lock, so that a DISABLED
        // committed meanwhile by an admin is seen (and refused) rather than overwritten.
        if (!(await uow.em.refresh(membership, { lockMode: LockMode.PESSIMISTIC_WRITE }))) throw organizationNotFound(organizationId);
        assertAccess(membership, 'enter');
      }
      const writer = membershipWriter(uow);
      writer.setStatus(membership, transition('ENTER', membership.status, 'ACTIVE'));
      writer.recordVisit(membership);
      const user = await uow.em.findOneOrFail(User, { id: principal.userId });
      user.lastVisitedOrganization = membership.organization;
      user.updatedAt = uow.now;
      const session = await uow.em.findOne(Session, { id: principal.sessionId });
      if (session) session.currentOrganization = membership.organization;
      const teams = await uow.em.find(TeamMember, { membership }, { populate: ['team'] });
      return {
        membership: membershipView(membership),
        organization: organizationView(membership.organization.getEntity()),
        permissions: effectivePermissions(membership, teams.map((t) => t.team.$.policies)),
      };
    });
  }

  /** ORG_ADMIN check after taking the organization's lock (see lockOrganization). */
  private async requireAdmin(uow: UnitOfWork, principal: Principal, organizationId: string) {
    await lockOrganization(uow.em, organizationId);
    return requireAccess(uow.em, principal, organizationId, 'admin');
  }

  private async target(uow: UnitOfWork, organizationId: string, userId: string): Promise<MembershipEntity> {
    // Locked and read fresh: the status and role an event records as "before" are the committed ones,
    // and a concurrent switchOrganization waits for this change (see there).
    const m = await uow.em.findOne(Membership, { user: userId, organization: organizationId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!m) throw memberNotFound(userId, organizationId);
    return m;
  }

}

/**
 * An organization keeps at least one ACTIVE ORG_ADMIN (STAGED and INVITED admins have never
 * signed in, so they keep nobody in charge); a change of `m` to
 * `nextRole`/`nextStatus` (null/null: removal) that would leave none is refused (CONFLICT),
 * whoever asks for it. Every path that demotes, disables or removes a membership (GraphQL,
 * SCIM, SAML) should call this; it takes the organization's lock so that two concurrent
 * changes cannot both pass. Read `m` after the lock (lockOrganization) for an exact answer.
 */
export const guardLastOrgAdmin = async (em: Em, m: MembershipEntity, nextRole: OrganizationRole | null, nextStatus: UserStatus | null): Promise<void> => {
  const wasAdmin = m.role === 'ORG_ADMIN' && m.status === 'ACTIVE';
  const staysAdmin = nextRole === 'ORG_ADMIN' && nextStatus === 'ACTIVE';
  if (!wasAdmin || staysAdmin) return;
  await lockOrganization(em, m.organization.id);
  const others = await em.count(Membership, {
    organization: m.organization.id,
    role: 'ORG_ADMIN',
    status: 'ACTIVE',
    id: { $ne: m.id },
  });
  if (others === 0)
    throw new DomainError(
      'CONFLICT',
      `This would leave organization "${m.organization.id}" without an ORG_ADMIN; make another member ORG_ADMIN first.`,
      { organizationId: m.organization.id },
    );
};

