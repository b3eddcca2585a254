/**
 * Organization-scoped access tokens: ES256 JWTs (≤ 15 min) verifiable with the JWKS.
 *
 * Keys live in the database so every instance signs with the same key and serves
 * the same JWKS. Rotation adds a new signing key and retires the old one; a retired
 * key stays published until every token it signed has expired.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { SigningKey } from '../../persistence/entities.js';
import type { Clock } from '../runtime.js';
import type { TransactionRunner } from '../unit-of-work.js';
import { canEnter, type OrganizationRole, type UserStatus } from '../model/index.js';

const ALG = 'ES256';

export interface AccessToken {
  token: string;
  expiresAt: Date;
  organizationId: string;
}

export interface AccessTokenClaims {
  userId: string;
  sessionId: string;
  organizationId: string;
  role: OrganizationRole;
  permissions: string[];
}

/** Where the caller's current membership and its permissions are read (the request's read scope). */
export interface CurrentMembershipReader<M extends { organizationId: string; role: OrganizationRole; status: UserStatus }> {
  currentMembership(): Promise<M | null>;
  permissions(membership: M): Promise<string[]>;
}

export interface TokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

type SigningMaterial = { kid: string; key: Awaited<ReturnType<typeof importJWK>> };

export class TokenService {
  #signing: SigningMaterial | undefined;
  #signingLoadedAt = 0;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    readonly settings: TokenSettings,
  ) {}

  /** Creates the first signing key when there is none (first start). Safe on several instances. */
  async ensureSigningKey(): Promise<void> {
    const current = await this.tx.read((em) => em.findOne(SigningKey, { retiredAt: null }, { orderBy: { createdAt: 'desc' } }));
    if (current) return;
    await this.tx.run({ kind: 'system' }, async (uow) => {
      // Serialise first-start key creation across instances.
      await uow.em.execute('select pg_advisory_xact_lock(?)', [0x6b6579]);
      const again = await uow.em.findOne(SigningKey, { retiredAt: null });
      if (!again) uow.em.create(SigningKey, await this.newKeyData(uow.now));
    });
  }

  /** Makes a new key the signing key; the previous one stays in the JWKS until its tokens expire. */
  async rotate(): Promise<string> {
    const kid = await this.tx.run({ kind: 'system' }, async (uow) => {
      await uow.em.execute('select pg_advisory_xact_lock(?)', [0x6b6579]);
      // Keys whose tokens have all expired are no longer published; drop their rows.
      await uow.em.nativeDelete(SigningKey, { expiresAt: { $lte: uow.now } });
      const active = await uow.em.find(SigningKey, { retiredAt: null });
      for (const k of active) {
        k.retiredAt = uow.now;
        // Tokens signed up to now expire within ttl; keep a margin for clock skew.
        k.expiresAt = new Date(uow.now.getTime() + (this.settings.ttlSeconds + 300) * 1000);
      }
      return uow.em.create(SigningKey, await this.newKeyData(uow.now)).kid;
    });
    this.#signing = undefined;
    return kid;
  }

  /** The public keys of every key that signs or may have signed a live token. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const now = this.clock.now();
    const keys = await this.tx.read((em) =>
      em.find(SigningKey, { $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] }, { orderBy: { createdAt: 'desc' } }),
    );
    return { keys: keys.map((k) => ({ ...(k.publicJwk as JWK), kid: k.kid, alg: ALG, use: 'sig' })) };
  }

  /**
   * A token for the principal's current organization, with its role and permissions; null when
   * there is no current organization or its membership cannot be entered (no permissions).
   */
  async issueForCurrentOrganization<M extends { organizationId: string; role: OrganizationRole; status: UserStatus }>(
    principal: { userId: string; sessionId: string },
    reader: CurrentMembershipReader<M>,
  ): Promise<AccessToken | null> {
    const m = await reader.currentMembership();
    // The rule is checked here, not left to the reader's permissions.
    if (!m || !canEnter(m)) return null;
    const permissions = await reader.permissions(m);
    if (permissions.length === 0) return null;
    return this.issue({ userId: principal.userId, sessionId: principal.sessionId, organizationId: m.organizationId, role: m.role, permissions });
  }

  async issue(claims: AccessTokenClaims): Promise<AccessToken> {
    const { kid, key } = await this.signingKey();
    const now = this.clock.now();
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.settings.ttlSeconds;
    const token = await new SignJWT({
      org: claims.organizationId,
      role: claims.role,
      perms: claims.permissions,
      sid: claims.sessionId,
    })
      .setProtectedHeader({ alg: ALG, kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setSubject(claims.userId)
      .setAudience(this.settings.audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key);
    return { token, expiresAt: new Date(exp * 1000), organizationId: claims.organizationId };
  }

  private async signingKey(): Promise<SigningMaterial> {
    // Re-read at most every 30 s so a rotation on another instance is picked up.
    if (this.#signing && Date.now() - this.#signingLoadedAt < 30_000) return this.#signing;
    const row = await this.tx.read((em) => em.findOne(SigningKey, { retiredAt: null }, { orderBy: { createdAt: 'desc' } }));
    if (!row) throw new Error('No signing key: call ensureSigningKey() at start.');
    const key = await importJWK(row.privateJwk as JWK, ALG);
    this.#signing = { kid: row.kid, key };
    this.#signingLoadedAt = Date.now();
    return this.#signing;
  }

  private async newKeyData(now: Date) {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
    const kid = `k_${now.toISOString().slice(0, 10)}_${randomUUID().slice(0, 8)}`;
    return {
      kid,
      algorithm: ALG,
      privateJwk: (await exportJWK(privateKey)) as Record<string, unknown>,
      publicJwk: (await exportJWK(publicKey)) as Record<string, unknown>,
      createdAt: now,
      retiredAt: null,
      expiresAt: null,
    };
  }
}
