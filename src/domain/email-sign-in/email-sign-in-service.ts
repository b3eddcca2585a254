/**
 * Passwordless sign-in by email (SPEC §7): a 6-digit code and a link, sent through the
 * outbox; either proves control of the mailbox and gives a session the `EMAIL`
 * authentication (SPEC §6).
 *
 * - No enumeration: `start` does the same work for known and unknown emails — it stores a
 *   challenge either way and only decides whether to enqueue the email (sign-up disabled
 *   and unknown email: stored, never sent, and verifying it never succeeds).
 * - A challenge is single use, stored as SHA-256 hashes, lives 10 minutes, allows 5 wrong
 *   codes; a newer challenge for the same email ends the older ones.
 * - Refusals that must be remembered (a wrong code counts) are committed before they are
 *   thrown, so they are returned from the transaction as named outcomes.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import { EmailChallenge } from '../../persistence/auth-entities.js';
import { Organization, User, type UserEntity } from '../../persistence/entities.js';
import type { Em } from '../../persistence/orm.js';
import { acceptsParams, acceptsSql } from '../access.js';
import { findOrCreateUser, hashSecret, signInSession } from '../identity/identity-service.js';
import { enqueueEmail } from '../invitations/outbox.js';
import { authenticationScope, badInput, DomainError, normalizeEmail, type OrganizationRole, type UserStatus } from '../model/index.js';
import { newId, newSecret } from '../runtime.js';
import { chooseLanding, type Landing } from '../saml-sign-in/landing.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';
import { discoverSsoRoute, type SsoRoute } from './sso-route.js';

export const CODE_TTL_MS = 10 * 60 * 1000;
export const MAX_WRONG_CODES = 5;
/** Wrong codes for one email over 24 hours, whatever codes they were for: guessing stays hopeless however many codes are asked for. */
export const MAX_WRONG_CODES_PER_DAY = 20;

export interface EmailSignInResult {
  userId: string;
  email: string;
  /** Where the session lands; null when the user has no organization it may act in (it may create one). */
  organizationId: string | null;
  landing: Landing['rule'];
  sessionToken: string;
  sessionExpiresAt: Date | null;
  /** Memberships in organizations that accept EMAIL (SPEC §6). */
  memberships: { organizationId: string; role: OrganizationRole; status: UserStatus }[];
}

/** Named outcome of `start`: a code was (or, for an unknown email with sign-up off, seemed to be) sent, or SSO is required. */
export type EmailStartOutcome = { kind: 'SENT' } | { kind: 'SSO'; route: SsoRoute };

export interface EmailSignInOptions {
  sessionTtlSeconds: number;
  /** ORGWAY_EMAIL_SIGN_UP: unknown emails may create a user by verifying. */
  signUp: boolean;
  /** `{PUBLIC_URL}`: the link in the email points at `/auth/email/verify` there. */
  publicUrl: string;
  /** Wakes the outbox sender after a commit that enqueued mail. */
  mailEnqueued: () => void;
}

interface ChallengeRow {
  id: string;
  email: string;
  code_hash: string;
  attempts: number;
  expires_at: string | Date;
  used_at: string | Date | null;
}

const EMAIL_SCOPE = authenticationScope(['EMAIL']);

const sameHash = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const invalidCode = (left: number) =>
  new DomainError(
    'INVALID_CODE',
    left > 0
      ? `That code is not right. Check the 6 digits in the latest email (${left} attempt${left === 1 ? '' : 's'} left).`
      : 'That code is not right, and it was the last attempt: request a new code.',
    { attemptsLeft: left },
  );
const tooManyAttempts = () => new DomainError('TOO_MANY_ATTEMPTS', `Too many wrong codes (${MAX_WRONG_CODES}); this code no longer works. Request a new code.`);
const tooManyWrongCodesToday = () =>
  new DomainError(
    'TOO_MANY_ATTEMPTS',
    `Too many wrong codes for this email in the last 24 hours (${MAX_WRONG_CODES_PER_DAY}); codes are refused for now. Open the link in the email instead.`,
  );
const codeExpired = (what: 'code' | 'link') =>
  new DomainError('CODE_EXPIRED', `This sign-in ${what} has expired or was replaced by a newer one (they last 10 minutes). Request a new email.`);
const codeUsed = (what: 'code' | 'link') => new DomainError('CODE_USED', `This sign-in ${what} was already used. Request a new email to sign in again.`);
const invalidLink = () => new DomainError('INVALID_LINK', 'This sign-in link is not valid: open the link from the email exactly as it was sent, or request a new email.');

type Verified = { kind: 'SIGNED_IN'; result: EmailSignInResult } | { kind: 'REFUSED'; error: DomainError };

/**
 * The session a mailbox proof ends with (email code or link, invitation link): `EMAIL`
 * added to the browser's session of the same user, landing by the §2 step 6 rule among
 * the organizations that accept EMAIL (`forcedOrganizationId` plays RelayState's part).
 * Returns null when the email has no user and `createUser` is false.
 */
export const completeEmailSignIn = async (
  uow: UnitOfWork,
  emailOrUser: string | UserEntity,
  opts: { createUser: boolean; ttlSeconds: number; browserSecret: string | null; forcedOrganizationId?: string | null },
): Promise<EmailSignInResult | null> => {
  let user = typeof emailOrUser === 'string' ? await uow.em.findOne(User, { email: emailOrUser }) : emailOrUser;
  if (!user) {
    if (!opts.createUser) return null;
    user = await findOrCreateUser(uow, emailOrUser as string);
    await uow.em.flush();
  }
  const memberships = await inScopeMemberships(uow.em, user.id);
  const landing = chooseLanding(memberships, opts.forcedOrganizationId ?? null, user.lastVisitedOrganization?.id ?? null);
  if (landing.organizationId !== null && user.lastVisitedOrganization?.id !== landing.organizationId) {
    user.lastVisitedOrganization = uow.em.getReference(Organization, landing.organizationId, { wrapped: true });
    user.updatedAt = uow.now;
  }
  const session = await signInSession(uow, user.id, 'EMAIL', {
    organizationId: landing.organizationId,
    ttlSeconds: opts.ttlSeconds,
    browserSecret: opts.browserSecret,
  });
  return {
    userId: user.id,
    email: user.email,
    organizationId: landing.organizationId,
    landing: landing.rule,
    sessionToken: session.token,
    sessionExpiresAt: session.expiresAt,
    memberships: memberships
      .map((m) => ({ organizationId: m.organizationId, role: m.role, status: m.status }))
      .sort((x, y) => (x.organizationId < y.organizationId ? -1 : x.organizationId > y.organizationId ? 1 : 0)),
  };
};

/** The user's memberships in organizations that accept EMAIL, by the one access rule. */
const inScopeMemberships = async (em: Em, userId: string) => {
  const rows = await em.execute<{ organization_id: string; name: string; role: OrganizationRole; status: UserStatus }[]>(
    `select m.organization_id, o.name, m.role, m.status from memberships m join organizations o on o.id = m.organization_id
      where m.user_id = ? and ${acceptsSql('o')}`,
    [userId, ...acceptsParams({ scope: EMAIL_SCOPE })],
  );
  return rows.map((r) => ({ organizationId: r.organization_id, organizationName: r.name, role: r.role, status: r.status }));
};

export class EmailSignInService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly options: EmailSignInOptions,
  ) {}

  /** Home-realm discovery alone (GET /auth/discover): where this email must sign in, if anywhere special. */
  discover(email: string): Promise<SsoRoute | null> {
    return discoverSsoRoute(this.tx.sql, normalizeEmail(email));
  }

  /** POST /auth/email/start: SSO route, or a challenge stored and (unless sign-up forbids) emailed. */
  async start(rawEmail: string): Promise<EmailStartOutcome> {
    const email = normalizeEmail(rawEmail);
    const route = await discoverSsoRoute(this.tx.sql, email);
    if (route) return { kind: 'SSO', route };
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const link = newSecret('ogwl');
    await this.tx.run({ kind: 'system' }, async (uow) => {
      const known = (await uow.em.count(User, { email })) > 0;
      // A newer challenge ends the older ones: one live code per email.
      await uow.em.execute('update email_challenges set expires_at = ? where email = ? and used_at is null and expires_at > ?', [uow.now, email, uow.now]);
      uow.em.create(EmailChallenge, {
        id: newId('ech'),
        email,
        codeHash: hashSecret(code),
        linkHash: hashSecret(link),
        attempts: 0,
        createdAt: uow.now,
        expiresAt: new Date(uow.now.getTime() + CODE_TTL_MS),
        usedAt: null,
      });
      if (!known && !this.options.signUp) return;
      const url = `${this.options.publicUrl}/auth/email/verify?token=${encodeURIComponent(link)}`;
      enqueueEmail(uow, {
        kind: 'EMAIL_SIGN_IN',
        to: email,
        subject: `Your sign-in code: ${code}`,
        text:
          `Your orgway sign-in code is:\n\n    ${code}\n\n` +
          `Or open this link to sign in:\n\n    ${url}\n\n` +
          `The code and the link work once and expire in 10 minutes.\n` +
          `If you did not ask to sign in, ignore this email; nobody can sign in without the code.\n`,
      });
      uow.afterCommit(this.options.mailEnqueued);
    });
    return { kind: 'SENT' };
  }

  /** POST /auth/email/verify with the code from the email. */
  async verifyCode(rawEmail: string, rawCode: string, browserSecret: string | null): Promise<EmailSignInResult> {
    const email = normalizeEmail(rawEmail);
    const code = rawCode.trim();
    if (!/^\d{6}$/.test(code)) throw badInput('code', 'enter the 6 digits from the email.');
    const outcome = await this.tx.run<Verified>({ kind: 'system' }, async (uow) => {
      const rows = await uow.em.execute<(ChallengeRow & { wrong_today: number })[]>(
        `select c.id, c.email, c.code_hash, c.attempts, c.expires_at, c.used_at,
                (select coalesce(sum(x.attempts), 0)::int from email_challenges x where x.email = c.email and x.created_at > ?) as wrong_today
           from email_challenges c where c.email = ? order by c.created_at desc, c.id desc limit 1 for update`,
        [new Date(uow.now.getTime() - 86_400_000), email],
      );
      const c = rows[0];
      if (!c) return { kind: 'REFUSED', error: invalidCode(MAX_WRONG_CODES) };
      const dead = this.deadReason(c, uow.now, 'code');
      if (dead) return { kind: 'REFUSED', error: dead };
      if (Number(c.wrong_today) >= MAX_WRONG_CODES_PER_DAY) return { kind: 'REFUSED', error: tooManyWrongCodesToday() };
      if (!sameHash(hashSecret(code), c.code_hash)) return this.wrongCode(uow, c);
      return this.use(uow, c, browserSecret, () => this.wrongCode(uow, c));
    });
    if (outcome.kind === 'REFUSED') throw outcome.error;
    return outcome.result;
  }

  /** GET /auth/email/verify?token=… from the link in the email. */
  async verifyLink(token: string, browserSecret: string | null): Promise<EmailSignInResult> {
    if (!token || token.length > 200) throw invalidLink();
    const outcome = await this.tx.run<Verified>({ kind: 'system' }, async (uow) => {
      const rows = await uow.em.execute<ChallengeRow[]>(
        'select id, email, code_hash, attempts, expires_at, used_at from email_challenges where link_hash = ? for update',
        [hashSecret(token)],
      );
      const c = rows[0];
      if (!c) return { kind: 'REFUSED', error: invalidLink() };
      const dead = this.deadReason(c, uow.now, 'link');
      if (dead) return { kind: 'REFUSED', error: dead };
      return this.use(uow, c, browserSecret, () => ({ kind: 'REFUSED', error: invalidLink() }));
    });
    if (outcome.kind === 'REFUSED') throw outcome.error;
    return outcome.result;
  }

  private deadReason(c: ChallengeRow, now: Date, what: 'code' | 'link'): DomainError | null {
    if (c.used_at) return codeUsed(what);
    if (c.attempts >= MAX_WRONG_CODES) return tooManyAttempts();
    if (new Date(c.expires_at) <= now) return codeExpired(what);
    return null;
  }

  private async wrongCode(uow: UnitOfWork, c: ChallengeRow): Promise<Verified> {
    await uow.em.execute('update email_challenges set attempts = attempts + 1 where id = ?', [c.id]);
    return { kind: 'REFUSED', error: invalidCode(MAX_WRONG_CODES - c.attempts - 1) };
  }

  /** Marks the challenge used and signs in; `noUser`: what an unknown email with sign-up off answers instead. */
  private async use(uow: UnitOfWork, c: ChallengeRow, browserSecret: string | null, noUser: () => Promise<Verified> | Verified): Promise<Verified> {
    const result = await completeEmailSignIn(uow, c.email, { createUser: this.options.signUp, ttlSeconds: this.options.sessionTtlSeconds, browserSecret });
    if (!result) return noUser();
    await uow.em.execute('update email_challenges set used_at = ? where id = ?', [uow.now, c.id]);
    return { kind: 'SIGNED_IN', result };
  }
}
