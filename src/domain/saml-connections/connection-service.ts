/**
 * SAML connection management (SPEC §2).
 *
 * Ownership: an ORG_ADMIN creates a connection from the IdP's metadata for one of its
 * organizations, the *owner*, which trusts it from the start. Other organizations trust
 * it by id (an ORG_ADMIN of each decides for their own organization) and may untrust it
 * at any time. Only ORG_ADMINs of the owner change the connection itself (certificates,
 * prefix, default organization, IdP-initiated sign-in, decryption key) and read its
 * sign-in failures: those settings apply to every trusting organization, so one trusting
 * organization must not be able to change them for the others.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { Organization } from '../../persistence/entities.js';
import { SamlConnection, type SamlConnectionEntity, SamlSignInFailure, SamlTrust } from '../../persistence/saml-entities.js';
import type { Em } from '../../persistence/orm.js';
import { acceptsParams, acceptsPrincipal, acceptsSql, assertAccess, findMembership, type Principal, requireAccess } from '../access.js';
import { ACCESS_CHANNEL } from '../events/access-watch.js';
import { badInput, canEnter, checkName, checkOrganizationId, DomainError, notFound, ORGANIZATION_ID_PATTERN, truncate } from '../model/index.js';
import { newId } from '../runtime.js';
import { ATTRIBUTE_PREFIX_PATTERN } from '../saml-sign-in/attributes.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';

/** What the IdP metadata says; parsed by the SAML transport (the domain reads no XML). */
export interface IdpMetadata {
  entityId: string;
  ssoUrl: string;
  /** PEM (or bare base64 DER) signing certificates. */
  signingCertificates: string[];
}

/** Port: parses IdP metadata XML; throws DomainError BAD_USER_INPUT naming what is wrong. */
export interface IdpMetadataParser {
  parse(metadataXml: string): IdpMetadata;
}

export interface NewSamlConnectionInput {
  metadataXml: string;
  name?: string | null;
  attributePrefix?: string | null;
  defaultOrganizationId?: string | null;
  allowIdpInitiated?: boolean | null;
  /** PEM private key and certificate for encrypted assertions; both or neither. */
  spDecryptionKey?: string | null;
  spCertificate?: string | null;
}

/** Absent (undefined) fields stay as they are. */
export interface SamlConnectionPatch {
  metadataXml?: string | null;
  name?: string | null;
  attributePrefix?: string | null;
  /** null clears it. */
  defaultOrganizationId?: string | null;
  allowIdpInitiated?: boolean | null;
  spDecryptionKey?: string | null;
  spCertificate?: string | null;
  removeDecryptionKey?: boolean | null;
}

export interface CertificateView {
  pem: string;
  fingerprintSha256: string;
  subject: string;
  validFrom: Date;
  validTo: Date;
}

export interface SamlConnectionView {
  id: string;
  name: string;
  ownerOrganizationId: string;
  idpEntityId: string;
  ssoUrl: string;
  signingCertificates: CertificateView[];
  attributePrefix: string;
  defaultOrganizationId: string | null;
  allowIdpInitiated: boolean;
  hasDecryptionKey: boolean;
  spCertificate: CertificateView | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SamlSignInFailureView {
  id: string;
  connectionId: string;
  code: string;
  message: string;
  detail: string | null;
  email: string | null;
  occurredAt: Date;
}

export const MAX_SIGNING_CERTIFICATES = 2;

const toPem = (cert: string): string => {
  const body = cert.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
};

export const certificateView = (pem: string): CertificateView => {
  const c = new X509Certificate(pem);
  return {
    pem,
    fingerprintSha256: c.fingerprint256,
    subject: c.subject.replace(/\n/g, ', '),
    validFrom: new Date(c.validFrom),
    validTo: new Date(c.validTo),
  };
};

/**
 * Normalises certificates to PEM and checks each is an X.509 certificate with an RSA key: sign-in
 * verifies RSA signatures only (RSA-SHA256/512, RSA-PSS), so an EC (ECDSA) or other key is refused here.
 */
/** Every read of a connection returns its certificates: a certificate padded to the body limit made each read megabytes. */
const MAX_CERTIFICATE_PEM_CHARACTERS = 16 * 1024;

export const checkCertificates = (certs: readonly string[], field: string): string[] => {
  const pems = [...new Set(certs.map(toPem))];
  if (pems.length === 0) throw badInput(field, 'the IdP metadata lists no signing certificate (a KeyDescriptor use="signing" with an X509Certificate).');
  if (pems.length > MAX_SIGNING_CERTIFICATES)
    throw badInput(field, `at most ${MAX_SIGNING_CERTIFICATES} signing certificates (the current one and the next during a rotation); the metadata lists ${pems.length}.`);
  for (const pem of pems) {
    if (pem.length > MAX_CERTIFICATE_PEM_CHARACTERS)
      throw badInput(field, `a signing certificate is at most ${MAX_CERTIFICATE_PEM_CHARACTERS} characters as PEM (got ${pem.length}); an IdP's is a few thousand.`);
    let c: X509Certificate;
    try {
      c = new X509Certificate(pem);
    } catch {
      throw badInput(field, 'a signing certificate is not a valid X.509 certificate.');
    }
    const type = c.publicKey.asymmetricKeyType;
    if (type !== 'rsa')
      throw badInput(
        field,
        `a signing certificate has ${type === 'ec' ? 'an EC (ECDSA)' : `a ${String(type)}`} key; orgway verifies RSA signatures only (RSA-SHA256 or RSA-SHA512): use a certificate with an RSA key.`,
      );
  }
  return pems;
};

const checkUrl = (url: string, field: string): string => {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw badInput(field, `"${truncate(url)}" is not an absolute URL.`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw badInput(field, `"${truncate(url)}" must be an http(s) URL.`);
  return u.toString();
};

const checkPrefix = (prefix: string): string => {
  if (!ATTRIBUTE_PREFIX_PATTERN.test(prefix))
    throw badInput('attributePrefix', `"${truncate(prefix)}" is not a valid prefix: use 1–64 letters, digits, "_" or "." (no dash: the prefix ends at the first dash).`);
  return prefix;
};

/** Checks an SP decryption key pair: both given, a private key, and a certificate for that key. */
const checkDecryptionPair = (key: string, cert: string): { key: string; cert: string } => {
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw badInput('spDecryptionKey', 'is not a PEM private key (unencrypted PKCS#8 or PKCS#1).');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw badInput('spDecryptionKey', 'must be an RSA key (XML encryption key transport uses RSA-OAEP).');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw badInput('spCertificate', 'is not a PEM X.509 certificate.');
  }
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromCert = certificate.publicKey.export({ type: 'spki', format: 'der' });
  if (!fromKey.equals(fromCert)) throw badInput('spCertificate', 'is not the certificate of spDecryptionKey (their public keys differ).');
  return { key: key.trim() + '\n', cert: toPem(cert) };
};

export const samlConnectionView = (c: SamlConnectionEntity): SamlConnectionView => ({
  id: c.id,
  name: c.name,
  ownerOrganizationId: c.ownerOrganization.id,
  idpEntityId: c.idpEntityId,
  ssoUrl: c.ssoUrl,
  signingCertificates: c.signingCertificates.map(certificateView),
  attributePrefix: c.attributePrefix,
  defaultOrganizationId: c.defaultOrganization?.id ?? null,
  allowIdpInitiated: c.allowIdpInitiated,
  hasDecryptionKey: !!c.spDecryptionKey,
  spCertificate: c.spCertificate ? certificateView(c.spCertificate) : null,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});

const connectionNotFound = (id: string) => notFound('SAML connection', id);

export const MAX_FAILURES_PAGE = 100;

export class SamlConnectionService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly metadata: IdpMetadataParser,
    /** Told after a connection changed (the sign-in side drops its cached copy). */
    private readonly changed: (connectionId: string) => void = () => undefined,
  ) {}

  /** Creates a connection owned (and trusted) by `organizationId`. Needs ORG_ADMIN there. */
  create(principal: Principal, organizationId: string, input: NewSamlConnectionInput): Promise<SamlConnectionView> {
    const idp = this.parseMetadata(input.metadataXml);
    const prefix = checkPrefix(input.attributePrefix ?? 'SPOTINST');
    const pair = this.decryptionPair(input.spDecryptionKey, input.spCertificate);
    const name = checkName(input.name ?? (hostOf(idp.entityId) ?? 'SAML connection'), 'name');
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { organization } = await requireAccess(uow.em, principal, organizationId, 'admin');
      if (input.defaultOrganizationId != null && input.defaultOrganizationId !== organization.id)
        throw badInput('defaultOrganizationId', `must be an organization that trusts the connection; a new connection is trusted only by "${organization.id}" (trust it from other organizations first).`);
      const c = uow.em.create(SamlConnection, {
        id: newId('scn'),
        ownerOrganization: organization,
        name,
        idpEntityId: idp.entityId,
        ssoUrl: idp.ssoUrl,
        signingCertificates: idp.signingCertificates,
        attributePrefix: prefix,
        defaultOrganization: input.defaultOrganizationId != null ? organization : null,
        allowIdpInitiated: input.allowIdpInitiated ?? false,
        spDecryptionKey: pair?.key ?? null,
        spCertificate: pair?.cert ?? null,
        createdAt: uow.now,
        updatedAt: uow.now,
      });
      uow.em.create(SamlTrust, { id: newId('str'), connection: c, organization, createdAt: uow.now });
      return samlConnectionView(c);
    });
  }

  /** Changes a connection. Needs ORG_ADMIN in its owner organization. */
  async update(principal: Principal, connectionId: string, patch: SamlConnectionPatch): Promise<SamlConnectionView> {
    const idp = patch.metadataXml != null ? this.parseMetadata(patch.metadataXml) : null;
    const prefix = patch.attributePrefix != null ? checkPrefix(patch.attributePrefix) : null;
    const name = patch.name != null ? checkName(patch.name, 'name') : null;
    if (patch.removeDecryptionKey && (patch.spDecryptionKey != null || patch.spCertificate != null))
      throw badInput('removeDecryptionKey', 'give either a new decryption key pair or removeDecryptionKey, not both.');
    const pair = this.decryptionPair(patch.spDecryptionKey, patch.spCertificate);
    if (patch.defaultOrganizationId != null) checkOrganizationId(patch.defaultOrganizationId, 'defaultOrganizationId');
    const view = await this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const c = await this.requireOwnerAdmin(uow.em, principal, connectionId);
      if (idp) {
        c.idpEntityId = idp.entityId;
        c.ssoUrl = idp.ssoUrl;
        c.signingCertificates = idp.signingCertificates;
      }
      if (prefix !== null) c.attributePrefix = prefix;
      if (name !== null) c.name = name;
      if (patch.allowIdpInitiated != null) c.allowIdpInitiated = patch.allowIdpInitiated;
      if (pair) {
        c.spDecryptionKey = pair.key;
        c.spCertificate = pair.cert;
      }
      if (patch.removeDecryptionKey) {
        c.spDecryptionKey = null;
        c.spCertificate = null;
      }
      if (patch.defaultOrganizationId === null) c.defaultOrganization = null;
      else if (patch.defaultOrganizationId !== undefined) {
        const trusts = await uow.em.count(SamlTrust, { connection: c, organization: patch.defaultOrganizationId });
        if (trusts === 0)
          throw badInput('defaultOrganizationId', `organization "${patch.defaultOrganizationId}" does not trust this connection; only a trusting organization can be the default.`);
        c.defaultOrganization = uow.em.getReference(Organization, patch.defaultOrganizationId, { wrapped: true });
      }
      c.updatedAt = uow.now;
      return samlConnectionView(c);
    });
    this.changed(view.id);
    return view;
  }

  /**
   * `organizationId` accepts sign-ins from the connection. Needs ORG_ADMIN there, and the
   * connection's consent: an operator, a session signed in through the connection, or an
   * ORG_ADMIN of the organization that owns it. Otherwise any admin could point someone else's
   * IdP at an organization of their own and, with automatic user access, collect its users as
   * they sign in. Idempotent.
   */
  trust(principal: Principal, organizationId: string, connectionId: string): Promise<SamlConnectionView> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { organization } = await requireAccess(uow.em, principal, organizationId, 'admin');
      const c = await this.find(uow, connectionId);
      if (!(await this.mayTrust(uow.em, principal, c)))
        // The owner is not named: the refusal must not be a lookup of who owns a public connection id.
        throw new DomainError(
          'FORBIDDEN',
          `Only an ORG_ADMIN of the organization that created SAML connection ${c.id}, or someone signed in through that connection, can make another organization trust it: its identity provider's users would otherwise be brought into "${organizationId}" without their organization's consent.`,
          { connectionId: c.id },
        );
      if ((await uow.em.count(SamlTrust, { connection: c, organization })) === 0)
        uow.em.create(SamlTrust, { id: newId('str'), connection: c, organization, createdAt: uow.now });
      return samlConnectionView(c);
    });
  }

  /**
   * `organizationId` stops accepting sign-ins from the connection (existing memberships
   * stay). Clears the connection's default organization when it was this one. Needs ORG_ADMIN.
   * Returns whether the organization trusted it.
   */
  async untrust(principal: Principal, organizationId: string, connectionId: string): Promise<boolean> {
    const untrusted = await this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      // The same lock as setRequireSso: requiring SSO and untrusting cannot interleave into an organization nobody can enter.
      await uow.em.execute('select id from organizations where id = ? for no key update', [organizationId]);
      const { organization } = await requireAccess(uow.em, principal, organizationId, 'admin');
      const c = await this.find(uow, connectionId);
      const trust = await uow.em.findOne(SamlTrust, { connection: c, organization });
      if (!trust) return false;
      if (organization.requireSso) {
        const remaining = (await uow.em.find(SamlTrust, { organization }, { fields: ['connection'] })).map((t) => t.connection.id).filter((id) => id !== c.id);
        if (remaining.length === 0)
          throw new DomainError(
            'CONFLICT',
            `Organization "${organizationId}" requires SSO and ${connectionId} is the last connection it trusts, so no member could sign in. Trust another connection first, or stop requiring SSO.`,
            { organizationId },
          );
        // As for setRequireSso: the caller proves a remaining connection works by having signed in through it.
        if (!principal.scope.operator && !principal.scope.connectionIds.some((id) => remaining.includes(id)))
          throw new DomainError(
            'CONFLICT',
            `Organization "${organizationId}" requires SSO and your session did not sign in through another connection it trusts, so untrusting ${connectionId} would lock you out. Sign in through one of its other connections first.`,
            { organizationId },
          );
      }
      uow.em.remove(trust);
      // Sessions that entered through this connection lose the organization at once; open subscriptions on every instance end.
      await uow.em.execute('select pg_notify(?, ?)', [ACCESS_CHANNEL, organization.id]);
      if (c.defaultOrganization?.id === organization.id) {
        c.defaultOrganization = null;
        c.updatedAt = uow.now;
      }
      return true;
    });
    this.changed(connectionId);
    return untrusted;
  }

  /** Connections the organization trusts or owns. Needs ORG_ADMIN there. */
  listForOrganization(principal: Principal, organizationId: string): Promise<SamlConnectionView[]> {
    return this.tx.read(async (em) => {
      await requireAccess(em, principal, organizationId, 'admin');
      const trusted = await em.find(SamlTrust, { organization: organizationId }, { populate: ['connection'] });
      const owned = await em.find(SamlConnection, { ownerOrganization: organizationId });
      const all = new Map<string, SamlConnectionEntity>();
      for (const t of trusted) all.set(t.connection.id, t.connection.$);
      for (const c of owned) all.set(c.id, c);
      return [...all.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map(samlConnectionView);
    });
  }

  /** Ids of the connections the organization trusts, sorted. Needs ORG_ADMIN there. */
  trustedConnectionIds(principal: Principal, organizationId: string): Promise<string[]> {
    return this.tx.read(async (em) => {
      await requireAccess(em, principal, organizationId, 'admin');
      const trusts = await em.find(SamlTrust, { organization: organizationId });
      return trusts.map((t) => t.connection.id).sort();
    });
  }

  /** Whether an organization trusts a connection (for views; the caller checked access). */
  trustedBy(connectionId: string, organizationId: string): Promise<boolean> {
    return this.tx.read(async (em) => (await em.count(SamlTrust, { connection: connectionId, organization: organizationId })) > 0);
  }

  /** Recent refused sign-ins, newest first. Needs ORG_ADMIN in the owner organization. */
  recentFailures(principal: Principal, connectionId: string, first: number): Promise<SamlSignInFailureView[]> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_FAILURES_PAGE) throw badInput('first', `must be between 1 and ${MAX_FAILURES_PAGE}.`);
    return this.tx.read(async (em) => {
      const c = await this.requireOwnerAdmin(em, principal, connectionId);
      const rows = await em.find(SamlSignInFailure, { connection: c }, { orderBy: { occurredAt: 'desc', id: 'desc' }, limit: first });
      return rows.map((r) => ({
        id: r.id,
        connectionId: c.id,
        code: r.code,
        message: r.message,
        detail: r.detail ?? null,
        email: r.email ?? null,
        occurredAt: r.occurredAt,
      }));
    });
  }

  private parseMetadata(xml: string): IdpMetadata {
    if (typeof xml !== 'string' || xml.trim() === '') throw badInput('metadataXml', 'paste the IdP metadata XML (an EntityDescriptor with an IDPSSODescriptor).');
    if (xml.length > 512 * 1024) throw badInput('metadataXml', 'is larger than 512 KiB; paste the metadata of this one IdP application.');
    const idp = this.metadata.parse(xml);
    if (!idp.entityId || idp.entityId.length > 1024) throw badInput('metadataXml', 'the EntityDescriptor has no entityID (or one longer than 1024 characters).');
    return { entityId: idp.entityId, ssoUrl: checkUrl(idp.ssoUrl, 'metadataXml (SingleSignOnService Location)'), signingCertificates: checkCertificates(idp.signingCertificates, 'metadataXml') };
  }

  private decryptionPair(key: string | null | undefined, cert: string | null | undefined): { key: string; cert: string } | null {
    if (key == null && cert == null) return null;
    if (key == null || cert == null) throw badInput(key == null ? 'spDecryptionKey' : 'spCertificate', 'give the SP decryption key and its certificate together.');
    return checkDecryptionPair(key, cert);
  }

  private async find(uow: UnitOfWork, connectionId: string): Promise<SamlConnectionEntity> {
    if (!ORGANIZATION_ID_PATTERN.test(connectionId)) throw connectionNotFound(truncate(connectionId));
    const c = await uow.em.findOne(SamlConnection, { id: connectionId });
    if (!c) throw connectionNotFound(connectionId);
    return c;
  }

  /** Whether the connection consents to being trusted by this caller (see trust). */
  private async mayTrust(em: Em, principal: Principal, c: SamlConnectionEntity): Promise<boolean> {
    if (principal.scope.operator || principal.scope.connectionIds.includes(c.id)) return true;
    const membership = await ownerMembership(em, principal, c);
    return membership !== null && membership.role === 'ORG_ADMIN' && canEnter(membership);
  }

  /**
   * ORG_ADMIN of the owner organization. A member of a trusting organization learns why
   * it may not (FORBIDDEN); anyone else gets NOT_FOUND (a connection is not leaked).
   */
  private async requireOwnerAdmin(em: Em, principal: Principal, connectionId: string): Promise<SamlConnectionEntity> {
    if (!ORGANIZATION_ID_PATTERN.test(connectionId)) throw connectionNotFound(truncate(connectionId));
    const c = await em.findOne(SamlConnection, { id: connectionId });
    if (!c) throw connectionNotFound(connectionId);
    const ownerId = c.ownerOrganization.id;
    const membership = await ownerMembership(em, principal, c);
    if (membership) {
      assertAccess(membership, 'admin');
      return c;
    }
    const trustingAdmin = await em.execute<{ n: number }[]>(
      `select count(*)::int as n from saml_trusts t join memberships m on m.organization_id = t.organization_id
         join organizations o on o.id = t.organization_id
        where t.connection_id = ? and m.user_id = ? and ${acceptsSql('o')}`,
      [c.id, principal.userId, ...acceptsParams(principal)],
    );
    if (Number(trustingAdmin[0]?.n ?? 0) > 0)
      throw new DomainError(
        'FORBIDDEN',
        `Only ORG_ADMINs of organization "${ownerId}", which created SAML connection ${c.id}, can change it or read its sign-in failures. Your organization can trust or untrust it.`,
        { connectionId: c.id, ownerOrganizationId: ownerId },
      );
    throw connectionNotFound(connectionId);
  }
}

/** The caller's membership in the connection's owner organization, when that organization accepts the caller's sign-in. */
const ownerMembership = async (em: Em, principal: Principal, c: SamlConnectionEntity) => {
  const ownerId = c.ownerOrganization.id;
  const membership = await findMembership(em, principal.userId, ownerId);
  return membership && (await acceptsPrincipal(em, principal, ownerId)) ? membership : null;
};

const hostOf = (entityId: string): string | null => {
  try {
    return new URL(entityId).host || null;
  } catch {
    return null;
  }
};
