/** Users, sessions and API tokens. Secrets are returned once and stored as SHA-256. */
import { createHash } from 'node:crypto';
import DataLoader from 'dataloader';
import { Organization, Session, type SessionEntity, User, type UserEntity } from '../../persistence/entities.js';
import type { Principal } from '../access.js';
import {
  type Authentication,
  authenticationScope,
  checkName,
  DomainError,
  isAuthentication,
  mergeAuthentications,
  normalizeEmail,
} from '../model/index.js';
import { type Clock, newId, newSecret } from '../runtime.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';
import { executePrepared } from '../../persistence/orm.js';
import { liveSessionSql } from './live-session.js';

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
/** The user with this (canonical) email, or a new one; `created` says which. */
export const findOrCreateUserOutcome = async (uow: UnitOfWork, email: string, displayName?: string | null): Promise<{ user: UserEntity; created: boolean }> => {
  const existing = await uow.em.findOne(User, { email });
  if (existing) return { user: existing, created: false };
  const user = uow.em.create(User, {
    id: newId('usr'),
    email,
    displayName: displayName ?? null,
    lastVisitedOrganization: null,
    createdAt: uow.now,
    updatedAt: uow.now,
  });
  return { user, created: true };
};

export const findOrCreateUser = async (uow: UnitOfWork, email: string, displayName?: string | null): Promise<UserEntity> =>
  (await findOrCreateUserOutcome(uow, email, displayName)).user;

/** Creates a session or API token row inside the caller's transaction. */
export const issueSession = (
  uow: UnitOfWork,
  user: UserEntity | string,
  kind: 'SESSION' | 'API_TOKEN',
  opts: { organizationId: string | null; name?: string | null; ttlSeconds: number | null; authentications: readonly Authentication[] },
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
    authentications: [...opts.authentications],
    createdAt: uow.now,
    expiresAt,
    revokedAt: null,
  });
  return { id: s.id, token, name: s.name ?? null, createdAt: s.createdAt, expiresAt };
};

const live = (s: SessionEntity | null, now: Date): SessionEntity | null => (s && !s.revokedAt && (!s.expiresAt || s.expiresAt > now) ? s : null);

/**
 * The session a sign-in ends with (SPEC §6). When the browser already holds a live session of
 * the same user — a secret the browser itself presents (its cookie) — that session gains
 * the new authentication, and a new secret: the old one stops working, so a secret planted in
 * or copied from a browser never gains scope. Otherwise a new session; a session of another
 * user that the browser's cookie held is ended (the sign-in replaces it).
 */
export const signInSession = async (
  uow: UnitOfWork,
  userId: string,
  authentication: Authentication,
  opts: { organizationId: string | null; ttlSeconds: number | null; browserSecret?: string | null },
): Promise<IssuedSecret> => {
  // Only a secret the posting browser presents counts: whoever answers an AuthnRequest (its id went to the IdP) may be another party.
  const held = opts.browserSecret && opts.browserSecret.length <= 200 ? live(await uow.em.findOne(Session, { tokenHash: hashSecret(opts.browserSecret) }), uow.now) : null;
  if (held && held.kind === 'SESSION' && held.user.id === userId) {
    const token = newSecret(SESSION_PREFIX);
    held.tokenHash = hashSecret(token);
    held.authentications = mergeAuthentications(held.authentications, [authentication]);
    // A sign-in that lands nowhere keeps the organization the session was in.
    if (opts.organizationId !== null) held.currentOrganization = uow.em.getReference(Organization, opts.organizationId, { wrapped: true });
    held.expiresAt = opts.ttlSeconds === null ? null : new Date(uow.now.getTime() + opts.ttlSeconds * 1000);
    return { id: held.id, token, name: null, createdAt: held.createdAt, expiresAt: held.expiresAt ?? null };
  }
  if (held) held.revokedAt = uow.now;
  return issueSession(uow, userId, 'SESSION', { organizationId: opts.organizationId, ttlSeconds: opts.ttlSeconds, authentications: [authentication] });
};

interface SessionRow {
  id: string;
  user_id: string;
  kind: 'SESSION' | 'API_TOKEN';
  current_organization_id: string | null;
  authentications: string | string[];
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

  /**
   * Sessions looked up together: every request that authenticates in one turn of the event loop
   * shares one statement (under load, several requests arrive per turn; alone, a request waits
   * one turn). Not cached: each lookup reads the session as it is now.
   */
  readonly #sessions = new DataLoader<string, SessionRow | null>((hashes) => this.#readSessions(hashes), {
    cache: false,
    batchScheduleFn: (dispatch) => setImmediate(dispatch),
    maxBatchSize: 256,
  });

  async #readSessions(hashes: readonly string[]): Promise<(SessionRow | null)[]> {
    // A fixed number of placeholders (the next power of two, padded with the first hash): a few
    // prepared statements whose generic plans PostgreSQL keeps. An array parameter would be
    // planned again at every execution (its generic plan assumes ten elements and loses to the
    // custom one), which costs more than the statements it saves.
    const padded = [...hashes];
    while (padded.length & (padded.length - 1)) padded.push(hashes[0]!);
    const rows = await executePrepared<(SessionRow & { token_hash: string })[]>(
      this.tx.sql,
      `select s.token_hash, s.id, s.user_id, s.kind, s.current_organization_id, s.authentications, u.email, u.display_name,
              u.last_visited_organization_id, u.created_at as user_created_at
         from sessions s join users u on u.id = s.user_id
        where s.token_hash in (${padded.map(() => '?').join(', ')}) and ${liveSessionSql('s')}`,
      [...padded, this.clock.now()],
    );
    const byHash = new Map(rows.map((r) => [r.token_hash, r]));
    return hashes.map((h) => byHash.get(h) ?? null);
  }

  /** The bearer secret's live session with its user (one statement, shared with concurrent lookups), or UNAUTHENTICATED. */
  async authenticate(secret: string): Promise<Principal> {
    if (!secret || secret.length > 200) throw unauthenticated();
    const row = await this.#sessions.load(hashSecret(secret));
    if (!row) throw unauthenticated();
    const raw = (typeof row.authentications === 'string' ? JSON.parse(row.authentications) : row.authentications) as string[];
    const authentications = raw.filter(isAuthentication);
    return {
      userId: row.user_id,
      sessionId: row.id,
      sessionKind: row.kind,
      currentOrganizationId: row.current_organization_id,
      authentications,
      scope: authenticationScope(authentications),
      user: {
        id: row.user_id,
        email: row.email,
        displayName: row.display_name,
        lastVisitedOrganizationId: row.last_visited_organization_id,
        createdAt: new Date(row.user_created_at),
      },
    };
  }

  /** A browser session with these authentications (sign-in routes make theirs in their own transaction). */
  createSession(userId: string, organizationId: string | null, authentications: readonly Authentication[]): Promise<IssuedSecret> {
    return this.tx.run({ kind: 'user', userId }, async (uow) =>
      issueSession(uow, userId, 'SESSION', { organizationId, ttlSeconds: this.sessionTtlSeconds, authentications }),
    );
  }

  /**
   * A long-lived token for scripts, created by a user for itself; inherits the current
   * organization and the creating session's authentications as they are now (never wider).
   */
  createApiToken(principal: Principal, name: string): Promise<IssuedSecret> {
    const clean = checkName(name, 'name', 100);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const session = live(await uow.em.findOne(Session, { id: principal.sessionId }), uow.now);
      if (!session) throw unauthenticated();
      // What the caller proved when it authenticated AND what the row holds now: a sign-in in the
      // same browser adds to the row under a new secret, and a caller still holding the old secret
      // (an open socket, a planted cookie) must not mint a token with what that sign-in proved.
      const proved = new Set(principal.authentications);
      return issueSession(uow, principal.userId, 'API_TOKEN', {
        organizationId: principal.currentOrganizationId,
        name: clean,
        ttlSeconds: null,
        authentications: session.authentications.filter((a) => proved.has(a)),
      });
    });
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

