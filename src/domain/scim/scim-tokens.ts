/**
 * SCIM tokens: bearer secrets scoped to one organization's SCIM endpoint (SPEC §1, §3).
 *
 * The secret (256 bits from the CSPRNG) is returned once and stored as its SHA-256.
 * Lookup is by hash through a unique index: the secret itself is never compared, so
 * the time a lookup takes depends only on the hash of what the caller sent, which
 * says nothing useful about any stored secret (finding an input whose hash shares a
 * prefix with a stored hash does not help find the secret: SHA-256 is preimage-resistant).
 * That is what "constant-time with respect to the secret" means here; a byte-by-byte
 * string comparison of secrets, which would leak a matching prefix, never happens.
 */
import { Organization } from '../../persistence/entities.js';
import { ScimToken } from '../../persistence/scim-entities.js';
import type { Em } from '../../persistence/orm.js';
import { executePrepared } from '../../persistence/orm.js';
import { type Principal, requireAccess } from '../access.js';
import { hashSecret } from '../identity/identity-service.js';
import { checkName, DomainError, notFound } from '../model/index.js';
import { newId, newSecret } from '../runtime.js';
import type { TransactionRunner } from '../unit-of-work.js';
import type { ScimPrincipal } from './types.js';

/** Prefix of SCIM secrets, so a leaked one is recognisable (e.g. by secret scanners). */
export const SCIM_TOKEN_PREFIX = 'ogwscim';
const SECRET_PATTERN = /^ogwscim_[A-Za-z0-9_-]{43}$/;

export interface ScimTokenView {
  id: string;
  organizationId: string;
  name: string;
  createdAt: Date;
  createdByUserId: string | null;
  revokedAt: Date | null;
}

export interface IssuedScimToken {
  /** The bearer secret: shown once. */
  token: string;
  scimToken: ScimTokenView;
}

const view = (t: { id: string; organization: { id: string }; name: string; createdAt: Date; createdByUserId?: string | null; revokedAt?: Date | null }): ScimTokenView => ({
  id: t.id,
  organizationId: t.organization.id,
  name: t.name,
  createdAt: t.createdAt,
  createdByUserId: t.createdByUserId ?? null,
  revokedAt: t.revokedAt ?? null,
});

export const scimUnauthenticated = (why: string): DomainError =>
  new DomainError('UNAUTHENTICATED', `${why} Send "Authorization: Bearer <SCIM token>"; an ORG_ADMIN creates one with the createScimToken mutation.`);

/** Every SCIM token is a credential with its own request allowance; an IdP needs one, a rotation two. */
export const MAX_LIVE_SCIM_TOKENS = 20;

export class ScimTokenService {
  constructor(private readonly tx: TransactionRunner) {}

  /** Needs ORG_ADMIN. Returns the secret once. At most MAX_LIVE_SCIM_TOKENS unrevoked per organization. */
  create(principal: Principal, organizationId: string, name: string): Promise<IssuedScimToken> {
    const clean = checkName(name, 'name', 100);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      // The organization's row lock (taken once the caller is known to be its admin): two creations cannot both see room for one more.
      await uow.em.execute('select id from organizations where id = ? for no key update', [organizationId]);
      const live = await uow.em.count(ScimToken, { organization: organizationId, revokedAt: null });
      if (live >= MAX_LIVE_SCIM_TOKENS)
        throw new DomainError('CONFLICT', `Organization "${organizationId}" already has ${live} SCIM tokens that are not revoked, the most it may have; revoke one first.`, {
          organizationId,
        });
      const token = newSecret(SCIM_TOKEN_PREFIX);
      const row = uow.em.create(ScimToken, {
        id: newId('scimtok'),
        organization: uow.em.getReference(Organization, organizationId),
        name: clean,
        tokenHash: hashSecret(token),
        createdByUserId: principal.userId,
        createdAt: uow.now,
        revokedAt: null,
      });
      return { token, scimToken: view(row) };
    });
  }

  /** Needs ORG_ADMIN. Idempotent: revoking a revoked token keeps its first revocation time. */
  revoke(principal: Principal, organizationId: string, tokenId: string): Promise<ScimTokenView> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      const row = await uow.em.findOne(ScimToken, { id: tokenId, organization: organizationId });
      if (!row) throw notFound('SCIM token', tokenId);
      row.revokedAt ??= uow.now;
      return view(row);
    });
  }

  /** Needs ORG_ADMIN. Newest first, revoked ones included (with `revokedAt`); never the secrets. */
  list(principal: Principal, organizationId: string): Promise<ScimTokenView[]> {
    return this.tx.read(async (em: Em) => {
      await requireAccess(em, principal, organizationId, 'admin');
      const rows = await em.find(ScimToken, { organization: organizationId }, { orderBy: { createdAt: 'desc', id: 'desc' } });
      return rows.map(view);
    });
  }

  /** The organization a live SCIM token belongs to; UNAUTHENTICATED for a malformed, unknown or revoked one. */
  async authenticate(secret: string): Promise<ScimPrincipal> {
    if (!SECRET_PATTERN.test(secret)) throw scimUnauthenticated('This is not a SCIM token.');
    const rows = await executePrepared<{ id: string; organization_id: string; created_by_user_id: string | null; revoked_at: unknown }[]>(
      this.tx.sql,
      'select id, organization_id, created_by_user_id, revoked_at from scim_tokens where token_hash = ?',
      [hashSecret(secret)],
    );
    const row = rows[0];
    if (!row) throw scimUnauthenticated('Unknown SCIM token.');
    if (row.revoked_at !== null) throw scimUnauthenticated('This SCIM token was revoked.');
    return { tokenId: row.id, organizationId: row.organization_id, createdByUserId: row.created_by_user_id };
  }
}
