/**
 * `signInWithSaml`: SPEC §2 steps 1–6 in ONE transaction, with the `saml:<connectionId>`
 * actor for every membership event (JIT memberships carry source JIT).
 *
 * The transport has verified the XML; this use case also consumes the InResponseTo
 * request and records the assertion id (atomic statements on unique keys, so both hold
 * across gateway instances) inside the same transaction: a refused sign-in changes
 * nothing at all, a successful one changes everything at once.
 *
 * Decisions (docs/saml.md):
 * - ORG_ADMIN is granted and removed only by GraphQL/CLI: an IdP role for an ORG_ADMIN's
 *   organization leaves the role as it is (the membership still counts as asserted).
 * - A membership whose role the IdP asserts (OrgAndRole, or Role with RelayState) becomes
 *   source SAML: from then on the IdP manages it, so it drops to NO_ACCESS when OrgAndRole
 *   stops naming it.
 * - "OrgAndRole is present" means the attribute is in the assertion, even when none of its
 *   values carries our prefix (the IdP then names no organization of ours).
 * - RelayState also picks the landing organization when OrgAndRole is present; it is only
 *   ignored for assigning memberships and roles.
 * - No organization can be entered → NO_ACCESS. Membership changes the IdP asserted
 *   (e.g. every role became NO_ACCESS) are still committed, so revocations take effect;
 *   no session is created. When nothing changed, nothing is written at all.
 */
import { randomBytes } from 'node:crypto';
import { Membership, type MembershipEntity, Organization, Team, type TeamEntity, User, type UserEntity } from '../../persistence/entities.js';
import { SamlConnection, type SamlConnectionEntity, SamlRequest, SamlSignInFailure, SamlTrust } from '../../persistence/saml-entities.js';
import { signInSession } from '../identity/identity-service.js';
import { membershipWriter } from '../membership/membership-writer.js';
import {
  DomainError,
  normalizeEmail,
  notFound,
  ORGANIZATION_ID_PATTERN,
  type OrganizationRole,
  ssoAuthentication,
  truncate,
} from '../model/index.js';
import { newId } from '../runtime.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';
import { ORG_AND_ROLE, ORG_AND_USER_GROUPS, parseOrgAndRole, parseOrgAndUserGroups, parseRoleAttribute, ROLE_ATTRIBUTE } from './attributes.js';
import { readSignInState } from '../../persistence/saml/sign-in-state.js';
import { planSignIn, unknownOrganization } from './plan.js';
import { samlRejected } from './rejections.js';
import { consumeInResponseTo, reserveAssertion } from './single-use.js';
import type { SamlConnectionConfig, SamlFailureInput, SamlSignInResult, VerifiedSamlAssertion } from './types.js';

/** How long an SP-initiated sign-in may take at the IdP. */
export const AUTHN_REQUEST_TTL_SECONDS = 10 * 60;
/** How long a connection's certificates and settings are cached per instance. */
export const CONNECTION_CACHE_MS = 5_000;


export const connectionNotFound = (id: string): DomainError => notFound('SAML connection', id);

export const connectionConfig = (c: SamlConnectionEntity): SamlConnectionConfig => ({
  id: c.id,
  name: c.name,
  ownerOrganizationId: c.ownerOrganization.id,
  idpEntityId: c.idpEntityId,
  ssoUrl: c.ssoUrl,
  signingCertificates: [...c.signingCertificates],
  attributePrefix: c.attributePrefix,
  defaultOrganizationId: c.defaultOrganization?.id ?? null,
  allowIdpInitiated: c.allowIdpInitiated,
  spDecryptionKey: c.spDecryptionKey ?? null,
  spCertificate: c.spCertificate ?? null,
});

type Outcome = { kind: 'SIGNED_IN'; result: SamlSignInResult } | { kind: 'NO_ACCESS'; email: string };

export class SamlSignInService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly sessionTtlSeconds: number,
  ) {}

  readonly #cache = new Map<string, { config: SamlConnectionConfig; until: number }>();

  /**
   * The connection as the transport needs it for verification; NOT_FOUND when there is none.
   * Cached for CONNECTION_CACHE_MS: changes made on this instance apply at once (`forget`),
   * on other instances within that time. Trust, prefix, default organization and IdP-initiated
   * permission are read again inside the sign-in transaction.
   */
  async connection(connectionId: string): Promise<SamlConnectionConfig> {
    if (!ORGANIZATION_ID_PATTERN.test(connectionId)) throw connectionNotFound(truncate(connectionId));
    const hit = this.#cache.get(connectionId);
    if (hit && hit.until > this.tx.now().getTime()) return hit.config;
    const c = await this.tx.read((em) => em.findOne(SamlConnection, { id: connectionId }));
    if (!c) {
      this.#cache.delete(connectionId);
      throw connectionNotFound(connectionId);
    }
    const config = connectionConfig(c);
    if (this.#cache.size > 1000) this.#cache.clear();
    this.#cache.set(connectionId, { config, until: this.tx.now().getTime() + CONNECTION_CACHE_MS });
    return config;
  }

  /** Drops a cached connection (called when it changes). */
  forget(connectionId: string): void {
    this.#cache.delete(connectionId);
  }

  /**
   * SP-initiated sign-in: stores our AuthnRequest id (single use, 10 minutes) and the
   * organization it is for (sent as RelayState). The organization must trust the connection.
   */
  startSignIn(connectionId: string, organizationId: string | null, startedBySessionId: string | null = null): Promise<{ requestId: string; expiresAt: Date; connection: SamlConnectionConfig }> {
    if (!ORGANIZATION_ID_PATTERN.test(connectionId)) throw connectionNotFound(truncate(connectionId));
    return this.tx.run({ kind: 'saml', connectionId }, async (uow) => {
      const c = await uow.em.findOne(SamlConnection, { id: connectionId });
      if (!c) throw connectionNotFound(connectionId);
      if (organizationId !== null) {
        const trusted = ORGANIZATION_ID_PATTERN.test(organizationId) && (await uow.em.count(SamlTrust, { connection: c, organization: organizationId })) > 0;
        if (!trusted) throw unknownOrganization('organizationId', organizationId, connectionId);
      }
      // An NCName (SAML IDs are xs:ID): a letter or "_" first.
      const requestId = `_${randomBytes(20).toString('hex')}`;
      const expiresAt = new Date(uow.now.getTime() + AUTHN_REQUEST_TTL_SECONDS * 1000);
      uow.em.create(SamlRequest, { id: requestId, connection: c, organizationId, sessionId: startedBySessionId, createdAt: uow.now, expiresAt, usedAt: null });
      return { requestId, expiresAt, connection: connectionConfig(c) };
    });
  }

  /**
   * SPEC §2 steps 1–6, within the organizations that trust the connection (SPEC §6). Throws
   * DomainError with the spec's codes; NO_ACCESS when nothing can be entered. `browserSecret`:
   * the session cookie the request carried, if any (a sign-in of the same user adds to it).
   */
  async signInWithSaml(assertion: VerifiedSamlAssertion, browserSecret: string | null = null): Promise<SamlSignInResult> {
    const email = checkedEmail(assertion.email);
    // Outside the transaction: a second pool connection inside it could starve the pool.
    const cached = await this.connection(assertion.connectionId);
    const outcome = await this.tx.run({ kind: 'saml', connectionId: assertion.connectionId }, (uow) => this.run(uow, assertion, email, cached, browserSecret));
    if (outcome.kind === 'NO_ACCESS') throw noAccess(outcome.email);
    return outcome.result;
  }

  /** Records a refused sign-in for the connection's ORG_ADMINs (unknown connections are not recorded). */
  async recordFailure(f: SamlFailureInput): Promise<void> {
    if (!ORGANIZATION_ID_PATTERN.test(f.connectionId)) return;
    await this.tx.run({ kind: 'saml', connectionId: f.connectionId }, async (uow) => {
      const c = await uow.em.findOne(SamlConnection, { id: f.connectionId });
      if (!c) return;
      uow.em.create(SamlSignInFailure, {
        id: newId('saf'),
        connection: c,
        code: f.code.slice(0, 32),
        message: truncate(f.message, 2000),
        detail: f.detail == null ? null : truncate(f.detail, 4000),
        email: f.email == null ? null : f.email.slice(0, 254),
        occurredAt: uow.now,
      });
      await uow.em.flush();
    });
  }

  private async run(uow: UnitOfWork, a: VerifiedSamlAssertion, email: string, cached: SamlConnectionConfig, browserSecret: string | null): Promise<Outcome> {
    const em = uow.em;

    // ---- Parse attributes first (pure; INVALID_ATTRIBUTE before anything is read) ----
    // The prefix comes from the cached connection; it is re-checked against the row read below.
    const attrs = a.attributes;
    const orgAndRolePresent = Object.hasOwn(attrs, ORG_AND_ROLE);
    const parse = (prefix: string) => ({
      orgRoles: orgAndRolePresent ? parseOrgAndRole(attrs[ORG_AND_ROLE] ?? [], prefix) : new Map<string, OrganizationRole>(),
      groups: parseOrgAndUserGroups(attrs[ORG_AND_USER_GROUPS] ?? [], prefix),
      roleAttribute: orgAndRolePresent ? null : parseRoleAttribute(attrs[ROLE_ATTRIBUTE]),
    });
    let parsed = parse(cached.attributePrefix);

    // ---- Single use: the request it answers (and its RelayState), the assertion id ----
    const relayState = await consumeInResponseTo(uow, a);
    await reserveAssertion(uow, a);

    // ---- Everything the rules need, in one statement; the user's memberships locked ----
    const step2Candidate = orgAndRolePresent ? null : (relayState ?? cached.defaultOrganizationId);
    const named = new Set<string>([...parsed.orgRoles.keys(), ...parsed.groups.keys()]);
    if (step2Candidate !== null) named.add(step2Candidate);
    const teamIds = [...new Set([...parsed.groups.values()].flatMap((t) => [...t]))];
    const state = await readSignInState(em, a.connectionId, email, [...named].filter((id) => ORGANIZATION_ID_PATTERN.test(id)), [...parsed.groups.keys()], teamIds);
    if (!state.connection) throw connectionNotFound(a.connectionId);
    const connection = state.connection;
    if (connection.attribute_prefix !== cached.attributePrefix) parsed = parse(connection.attribute_prefix);
    if (a.inResponseTo === null && !connection.allow_idp_initiated)
      throw samlRejected(
        `This SAML connection accepts only sign-ins started at orgway (GET /saml/${connection.id}/login); IdP-initiated sign-in is not allowed. Ask an ORG_ADMIN to allow it, or start from orgway.`,
        { reason: 'IDP_INITIATED_NOT_ALLOWED' },
      );
    const { orgRoles, groups, roleAttribute } = parsed;
    const step2OrganizationId = orgAndRolePresent ? null : (relayState ?? connection.default_organization_id);
    const plan = planSignIn({
      email,
      connectionId: connection.id,
      orgAndRolePresent,
      orgRoles,
      groups,
      roleAttribute,
      step2: step2OrganizationId === null ? null : { organizationId: step2OrganizationId, namedBy: relayState !== null ? 'The RelayState' : "The connection's default organization" },
      relayState,
      lastVisitedOrganizationId: state.user?.last_visited_organization_id ?? null,
      memberships: state.memberships.map((m) => ({
        id: m.id,
        organizationId: m.organization_id,
        organizationName: m.name,
        trusts: m.trusts,
        role: m.role,
        status: m.status,
        source: m.source,
      })),
      accepting: state.trusted.map((o) => ({
        id: o.id,
        name: o.name,
        automaticAccess: { enabled: o.auto_access_enabled, defaultRole: o.auto_access_default_role, allowedDomains: o.auto_access_domains },
      })),
      teams: state.teams.map((t) => ({ key: t.key, organizationId: t.organization_id, teamId: t.team_id })),
      teamMembers: state.teamMembers.map((t) => ({ membershipId: t.membership_id, teamKey: t.team_key, source: t.source })),
    });

    // ---- The plan through the membership writer; entities only for what is written ----
    const writer = membershipWriter(uow);
    /** A managed entity from data already read (no query; only changed fields are written). */
    const managed = <T>(entity: unknown, data: Record<string, unknown>): T => (em.merge as unknown as (e: unknown, d: unknown) => T)(entity, data);
    const user: UserEntity = state.user
      ? managed<UserEntity>(User, { id: state.user.id, email: state.user.email, lastVisitedOrganization: state.user.last_visited_organization_id })
      : em.create(User, {
          id: newId('usr'),
          email,
          displayName: a.displayName ? truncate(a.displayName.trim(), 200) : null,
          lastVisitedOrganization: null,
          createdAt: uow.now,
          updatedAt: uow.now,
        });
    const rows = new Map(state.memberships.map((m) => [m.organization_id, m]));
    const entities = new Map<string, MembershipEntity>();
    const entityOf = (organizationId: string): MembershipEntity => {
      let entity = entities.get(organizationId);
      if (!entity) {
        const row = rows.get(organizationId)!;
        entity = managed<MembershipEntity>(Membership, { id: row.id, user: user.id, organization: row.organization_id, role: row.role, status: row.status, source: row.source });
        entities.set(organizationId, entity);
      }
      return entity;
    };
    for (const change of plan.changes) {
      switch (change.kind) {
        case 'ASSERT_ROLE': {
          const m = entityOf(change.organizationId);
          writer.setRole(m, change.role);
          writer.setSource(m, 'SAML');
          break;
        }
        case 'JOIN':
          entities.set(change.organizationId, writer.join(user, em.getReference(Organization, change.organizationId), { role: change.role, status: 'ACTIVE', source: change.source }));
          break;
        case 'DEMOTE_NO_ACCESS':
          writer.setRole(entityOf(change.organizationId), 'NO_ACCESS');
          break;
        case 'SET_TEAMS':
          await writer.changeTeams(
            entityOf(change.organizationId),
            change.add.map((t) => ({ team: managed<TeamEntity>(Team, { key: t.key, organization: t.organizationId, teamId: t.teamId }), source: 'SAML' as const })),
            change.removeTeamKeys,
          );
          break;
        case 'ACTIVATE':
          writer.setStatus(entityOf(change.organizationId), change.status);
          break;
      }
    }

    // ---- Landing ----
    const landing = plan.landing;
    if (landing.rule === 'NONE') {
      // Commit what the IdP asserted (e.g. revocations), but no session. Nothing asserted → nothing written.
      if (uow.eventCount === 0) throw noAccess(email);
      return { kind: 'NO_ACCESS', email };
    }
    writer.recordVisit(entityOf(landing.organizationId));
    if (state.user?.last_visited_organization_id !== landing.organizationId) {
      user.lastVisitedOrganization = em.getReference(Organization, landing.organizationId, { wrapped: true });
      user.updatedAt = uow.now;
    }
    const session = await signInSession(uow, user.id, ssoAuthentication(a.connectionId), {
      organizationId: landing.organizationId,
      ttlSeconds: this.sessionTtlSeconds,
      browserSecret,
    });
    return {
      kind: 'SIGNED_IN',
      result: {
        userId: user.id,
        email,
        organizationId: landing.organizationId,
        landing: landing.rule,
        sessionToken: session.token,
        sessionExpiresAt: session.expiresAt,
        memberships: plan.inScope
          .map(({ organizationId, role, status }) => ({ organizationId, role, status }))
          .sort((x, y) => (x.organizationId < y.organizationId ? -1 : x.organizationId > y.organizationId ? 1 : 0)),
      },
    };
  }
}

const checkedEmail = (email: string | null): string => {
  if (email === null || email.trim() === '')
    throw new DomainError(
      'INVALID_SAML',
      'The SAML assertion does not carry the user\'s email: send it as the NameID (format emailAddress) or as an attribute named "email".',
      { field: 'email' },
    );
  try {
    return normalizeEmail(email);
  } catch {
    throw new DomainError('INVALID_SAML', `The SAML assertion's email "${truncate(email)}" is not an email address (expected name@example.com).`, { field: 'email' });
  }
};

const noAccess = (email: string): DomainError =>
  new DomainError('NO_ACCESS', `${email} has no organization it can enter through this sign-in. Ask an ORG_ADMIN of your organization for access.`, { email });
