/**
 * Verified domains (SPEC §7): an organization proves it controls a DNS domain by publishing
 * `_orgway-challenge.<domain>` TXT `orgway-verification=<token>`. A domain is verified by at
 * most one organization (a unique index on `verified_domain`), which is what lets home-realm
 * discovery route its emails to that organization's SSO.
 */
import { domainToASCII } from 'node:url';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { OrganizationDomain, type OrganizationDomainEntity } from '../../persistence/auth-entities.js';
import { type Principal, requireAccess } from '../access.js';
import { badInput, DomainError, notFound, truncate } from '../model/index.js';
import { newId } from '../runtime.js';
import type { TransactionRunner } from '../unit-of-work.js';

/** Port: the TXT records of a name (adapters/txt-resolver.ts fills it with node's resolver). Resolves [] when there are none. */
export interface TxtResolver {
  resolveTxt(name: string): Promise<string[]>;
}

export interface DomainView {
  domain: string;
  verified: boolean;
  verifiedAt: Date | null;
  txtRecordName: string;
  txtRecordValue: string;
  createdAt: Date;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lower-case ASCII (IDN as punycode), no trailing dot, at least two labels, not an IP literal. */
export const normalizeDomain = (raw: string, field = 'domain'): string => {
  const trimmed = raw.trim().toLowerCase().replace(/^@/, '').replace(/\.$/, '');
  if (!trimmed || isIP(trimmed.replace(/^\[|\]$/g, ''))) throw badInput(field, `"${truncate(raw)}" is not a domain name (expected e.g. example.com).`);
  const ascii = domainToASCII(trimmed);
  const labels = ascii.split('.');
  if (!ascii || ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels.at(-1)!))
    throw badInput(field, `"${truncate(raw)}" is not a domain name (expected e.g. example.com).`);
  return ascii;
};

export const txtRecordName = (domain: string): string => `_orgway-challenge.${domain}`;
export const txtRecordValue = (token: string): string => `orgway-verification=${token}`;

export const domainView = (d: OrganizationDomainEntity): DomainView => ({
  domain: d.domain,
  verified: d.verifiedAt !== null && d.verifiedAt !== undefined,
  verifiedAt: d.verifiedAt ?? null,
  txtRecordName: txtRecordName(d.domain),
  txtRecordValue: txtRecordValue(d.token),
  createdAt: d.createdAt,
});

const verifiedElsewhere = (domain: string) =>
  new DomainError('CONFLICT', `Domain "${domain}" is already verified by another organization; a domain can be verified by one organization only.`, { field: 'domain' });

export class DomainService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly resolver: TxtResolver,
  ) {}

  list(principal: Principal, organizationId: string): Promise<DomainView[]> {
    return this.tx.read(async (em) => {
      await requireAccess(em, principal, organizationId, 'admin');
      const rows = await em.find(OrganizationDomain, { organization: organizationId }, { orderBy: { domain: 'asc' } });
      return rows.map(domainView);
    });
  }

  /** Claims a domain (idempotent: the same record again); returns the TXT record to publish. Needs ORG_ADMIN. */
  add(principal: Principal, organizationId: string, rawDomain: string): Promise<DomainView> {
    const domain = normalizeDomain(rawDomain);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { organization } = await requireAccess(uow.em, principal, organizationId, 'admin');
      const existing = await uow.em.findOne(OrganizationDomain, { organization, domain });
      if (existing) return domainView(existing);
      if ((await uow.em.count(OrganizationDomain, { verifiedDomain: domain })) > 0) throw verifiedElsewhere(domain);
      if ((await uow.em.count(OrganizationDomain, { organization })) >= 100) throw badInput('domain', 'an organization can claim at most 100 domains.');
      const row = uow.em.create(OrganizationDomain, {
        id: newId('dom'),
        organization,
        domain,
        token: randomBytes(24).toString('base64url'),
        verifiedDomain: null,
        verifiedAt: null,
        createdAt: uow.now,
      });
      return domainView(row);
    });
  }

  /** Looks the TXT record up and marks the domain verified. Needs ORG_ADMIN. */
  async verify(principal: Principal, organizationId: string, rawDomain: string): Promise<DomainView> {
    const domain = normalizeDomain(rawDomain);
    const claimed = await this.tx.read(async (em) => {
      await requireAccess(em, principal, organizationId, 'admin');
      const row = await em.findOne(OrganizationDomain, { organization: organizationId, domain });
      if (!row) throw notFound('Domain', domain);
      return row;
    });
    if (claimed.verifiedAt) return domainView(claimed);
    const expected = txtRecordValue(claimed.token);
    let found: string[];
    try {
      found = await this.resolver.resolveTxt(txtRecordName(domain));
    } catch (error) {
      throw badInput('domain', `looking up the TXT record ${txtRecordName(domain)} failed (${truncate(String((error as Error).message ?? error), 120)}). Try again shortly.`);
    }
    if (!found.includes(expected))
      throw badInput(
        'domain',
        `no TXT record ${txtRecordName(domain)} with the value "${expected}" was found` +
          (found.length ? ` (found: ${found.slice(0, 3).map((v) => JSON.stringify(truncate(v, 60))).join(', ')})` : '') +
          '. Publish it at your DNS provider and try again; DNS changes can take a while to appear.',
      );
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      const row = await uow.em.findOne(OrganizationDomain, { organization: organizationId, domain }, { refresh: true });
      if (!row || row.token !== claimed.token) throw notFound('Domain', domain);
      if (row.verifiedAt) return domainView(row);
      if ((await uow.em.count(OrganizationDomain, { verifiedDomain: domain })) > 0) throw verifiedElsewhere(domain);
      row.verifiedDomain = domain;
      row.verifiedAt = uow.now;
      return domainView(row);
    });
  }

  /** Gives the domain up (verified or not). Needs ORG_ADMIN. */
  remove(principal: Principal, organizationId: string, rawDomain: string): Promise<boolean> {
    const domain = normalizeDomain(rawDomain);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      const row = await uow.em.findOne(OrganizationDomain, { organization: organizationId, domain });
      if (!row) throw notFound('Domain', domain);
      uow.em.remove(row);
      return true;
    });
  }
}
