/** Users, sessions and API tokens. Secrets are returned once and stored as SHA-256. */
import { createHash } from 'node:crypto';
import { Session, User, type UserEntity } from '../../persistence/entities.js';
import type { Principal } from '../access.js';
import { badInput, checkName, DomainError, normalizeEmail } from '../model/index.js';
import { type Clock, newId, newSecret } from '../runtime.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';
import { executePrepared } from '../../persistence/orm.js';

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

const SESSION_PREFIX = 'ogws';
const API_TOKEN_PREFIX = 'ogwa';

export interface IssuedSecret {
  id: string;
  token: string;
  name: string | null;
  createdAt: Date;
  expiresAt: Date | null;
}

/** Finds the user with this (normalised) email, or creates one. */
export const findOrCreateUser = async (uow: UnitOfWork, email: string, displayName?: string | null): Promise<UserEntity> => {
  const existing = await uow.em.findOne(User, { email });
  if (existing) return existing;
  return uow.em.create(User, {
    id: newId('usr'),
    email,
    displayName: displayName ?? null,
    lastVisitedOrganization: null,
    createdAt: uow.now,
    updatedAt: uow.now,
  });
};

/** Creates a session or API token row inside the caller's transaction. */
export const issueSession = (
  uow: UnitOfWork,
  user: UserEntity | string,
  kind: 'SESSION' | 'API_TOKEN',
  opts: { organizationId: string | null; name?: string | null; ttlSeconds: number | null },
): IssuedSecret => {
  const token = newSecret(kind === 'SESSION' ? SESSION_PREFIX : API_TOKEN_PREFIX);
  const expiresAt = opts.ttlSeconds === null ? null : new Date(uow.now.getTime() + opts.ttlSeconds * 1000);
  const s = uow.em.create(Session, {
    id: newId(kind === 'SESSION' ? 'ses' : 'tok'),
    tokenHash: hashSecret(token),
    kind,
    name: opts.name ?? null,
    user: typeof user === 'string' ? user : user.id,
    currentOrganization: opts.organizationId,
    createdAt: uow.now,
    expiresAt,
    revokedAt: null,
  });
  return { id: s.id, token, name: s.name ?? null, createdAt: s.createdAt, expiresAt };
};

interface SessionRow {
  id: string;
  user_id: string;
  kind: 'SESSION' | 'API_TOKEN';
  current_organization_id: string | null;
  email: string;
  display_name: string | null;
  last_visited_organization_id: string | null;
  user_created_at: string | Date;
}

export class IdentityService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    private readonly sessionTtlSeconds: number,
  ) {}

  /** One statement: the bearer secret's live session with its user, or UNAUTHENTICATED. */
  async authenticate(secret: string): Promise<Principal> {
    if (!secret || secret.length > 200) throw unauthenticated();
    const rows = await executePrepared<SessionRow[]>(
      this.tx.sql,
        `select s.id, s.user_id, s.kind, s.current_organization_id, u.email, u.display_name,
                u.last_visited_organization_id, u.created_at as user_created_at
           from sessions s join users u on u.id = s.user_id
          where s.token_hash = ? and s.revoked_at is null and (s.expires_at is null or s.expires_at > ?)`,
      [hashSecret(secret), this.clock.now()],
    );
    const row = rows[0];
    if (!row) throw unauthenticated();
    return {
      userId: row.user_id,
      sessionId: row.id,
      sessionKind: row.kind,
      currentOrganizationId: row.current_organization_id,
      user: {
        id: row.user_id,
        email: row.email,
        displayName: row.display_name,
        lastVisitedOrganizationId: row.last_visited_organization_id,
        createdAt: new Date(row.user_created_at),
      },
    };
  }

  /** A browser session for a user who signed in (SAML) or for tests. */
  createSession(userId: string, organizationId: string | null): Promise<IssuedSecret> {
    return this.tx.run({ kind: 'user', userId }, async (uow) =>
      issueSession(uow, userId, 'SESSION', { organizationId, ttlSeconds: this.sessionTtlSeconds }),
    );
  }

  /** A long-lived token for scripts, created by a user for itself; inherits the current organization. */
  createApiToken(principal: Principal, name: string): Promise<IssuedSecret> {
    const clean = checkName(name, 'name', 100);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) =>
      issueSession(uow, principal.userId, 'API_TOKEN', {
        organizationId: principal.currentOrganizationId,
        name: clean,
        ttlSeconds: null,
      }),
    );
  }

  /** Revokes the session or API token the caller used. */
  signOut(principal: Principal): Promise<boolean> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const s = await uow.em.findOne(Session, { id: principal.sessionId });
      if (!s || s.revokedAt) return false;
      s.revokedAt = uow.now;
      return true;
    });
  }

  getUser(id: string): Promise<UserEntity | null> {
    return this.tx.read((em) => em.findOne(User, { id }));
  }

  findUserByEmail(email: string): Promise<UserEntity | null> {
    const e = normalizeEmail(email);
    return this.tx.read((em) => em.findOne(User, { email: e }));
  }
}

const unauthenticated = () =>
  new DomainError('UNAUTHENTICATED', 'Sign in first: send "Authorization: Bearer <session or API token>" or the orgway_session cookie.');

export { badInput };
