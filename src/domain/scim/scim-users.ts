/**
 * SCIM Users (SPEC §3, RFC 7644 §3): the members of one organization, provisioned by
 * its identity provider. Each use case is one transaction; membership changes go
 * through the membership writer (events with actor `scim:<tokenId>`), statuses through
 * the status machine.
 *
 * What is whose:
 * - the shared identity (users.email, users.display_name) is the same in every
 *   organization; SCIM changes it only while the user belongs to this organization
 *   alone, and otherwise refuses with `mutability`;
 * - userName, externalId and every other attribute are kept per organization (scim_users).
 */
import { LockMode } from '@mikro-orm/core';
import { withCtes } from '../../persistence/cte.js';
import { Membership, type MembershipEntity, Organization, User, type UserEntity } from '../../persistence/entities.js';
import { ScimUser, type ScimUserEntity } from '../../persistence/scim-entities.js';
import type { Em, SqlRunner } from '../../persistence/orm.js';
import { executePrepared } from '../../persistence/orm.js';
import { APPENDED } from '../events/event-log.js';
import { findOrCreateUserOutcome } from '../identity/identity-service.js';
import { guardLastOrgAdmin } from '../membership/membership-service.js';
import { joinStatement, membershipWriter } from '../membership/membership-writer.js';
import { checkName, DomainError, type ErrorDetails, normalizeEmail, type OrganizationRole, transition } from '../model/index.js';
import { newId } from '../runtime.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';
import { userFilterSql } from './filter-sql.js';
import {
  type ListQuery,
  type ListResult,
  type ScimEmail,
  scimError,
  type ScimPrincipal,
  type ScimUserInput,
  type ScimUserView,
  type UserFilter,
} from './types.js';
import { countUsers, loadUserView, loadUserViews } from './user-rows.js';
import { membershipsByUserName } from './user-name.js';

/** A PUT body, or a function that turns the current User into the wanted one (PATCH). */
export type UserChange = ScimUserInput | ((current: ScimUserView) => ScimUserInput);

export const userNotFound = (id: string, organizationId: string) =>
  scimError('NOT_FOUND', null, `User "${id}" is not a member of this organization (${organizationId}).`, { id });

const uniqueness = (message: string, details: ErrorDetails) => scimError('CONFLICT', 'uniqueness', message, details);

const mutability = (attribute: string, userId: string) =>
  scimError(
    'BAD_USER_INPUT',
    'mutability',
    `${attribute} belongs to the user's shared identity, and user "${userId}" is also a member of other organizations; ` +
      'SCIM of one organization cannot change what the others see. Keep the current value, or change it where the identity is managed.',
    { field: attribute, userId },
  );

/** The identity email: the primary one, else the one of type work, else the first. */
export const identityEmailOf = (emails: readonly ScimEmail[]): ScimEmail | undefined =>
  emails.find((e) => e.primary === true) ?? emails.find((e) => e.type?.toLowerCase() === 'work') ?? emails[0];

/** displayName as given, else derived from name (formatted, else given + family). */
export const wantedDisplayName = (input: ScimUserInput): string | null => {
  if (typeof input.displayName === 'string' && input.displayName.trim()) return input.displayName.trim();
  const name = input.attributes.name as { formatted?: unknown; givenName?: unknown; familyName?: unknown } | undefined;
  if (!name || typeof name !== 'object') return null;
  if (typeof name.formatted === 'string' && name.formatted.trim()) return name.formatted.trim();
  const parts = [name.givenName, name.familyName].filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((s) => s.trim());
  return parts.length ? parts.join(' ') : null;
};

const checkUserName = (userName: string): string => {
  const trimmed = userName.trim();
  if (!trimmed) throw scimError('BAD_USER_INPUT', 'invalidValue', 'userName is required and must not be empty.', { field: 'userName' });
  if (trimmed.length > 255) throw scimError('BAD_USER_INPUT', 'invalidValue', `userName must be at most 255 characters (got ${trimmed.length}).`, { field: 'userName' });
  return trimmed;
};

const checkExternalId = (externalId: string | null): string | null => {
  if (externalId === null || externalId === '') return null;
  if (externalId.length > 255) throw scimError('BAD_USER_INPUT', 'invalidValue', `externalId must be at most 255 characters (got ${externalId.length}).`, { field: 'externalId' });
  return externalId;
};

const checkEmail = (value: string): string => {
  try {
    return normalizeEmail(value, 'emails');
  } catch {
    throw scimError('BAD_USER_INPUT', 'invalidValue', `emails: "${value.slice(0, 80)}" is not a valid email address (expected name@example.com).`, { field: 'emails' });
  }
};

const storedAttributes = (input: ScimUserInput): Record<string, unknown> =>
  input.emails.length ? { ...input.attributes, emails: input.emails } : { ...input.attributes };

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);


interface Taken {
  userName?: string;
  externalId?: string;
  /** POST only: the user with the new identity email, when there is one. */
  identity?: string;
  /** POST only: that user, when it is already a member here. */
  member?: string;
  /** POST only: the organization's default role (for the new membership). */
  defaultRole?: OrganizationRole;
}

/**
 * In one statement: which of userName / externalId are already taken in the organization
 * (by another membership than `except`; a member SCIM has not touched counts with its email
 * as userName), and for POST the user with the email (and whether it is a member here) and
 * the default role (none: the organization is gone).
 */
const takenBy = async (
  em: SqlRunner,
  organizationId: string,
  wanted: { userNameKey: string | null; externalId: string | null; email?: string },
  except: string | null,
): Promise<Taken> => {
  const byName = membershipsByUserName(organizationId, wanted.userNameKey ?? '');
  const params: unknown[] = [...byName.params, organizationId, wanted.externalId];
  let sql = `select 'userName' as what, m.id as membership_id, m.user_id, null as value from memberships m where m.id in (${byName.sql})
     union all
     select 'externalId', s.membership_id, m.user_id, null from scim_users s join memberships m on m.id = s.membership_id
      where s.organization_id = ? and s.external_id = ?`;
  if (wanted.email !== undefined) {
    sql += `
     union all
     select 'identity', m.id, u.id, null from users u left join memberships m on m.user_id = u.id and m.organization_id = ? where u.email = ?
     union all
     select 'defaultRole', null, null, o.auto_access_default_role from organizations o where o.id = ?`;
    params.push(organizationId, wanted.email, organizationId);
  }
  const rows = await executePrepared<{ what: 'userName' | 'externalId' | 'identity' | 'defaultRole'; membership_id: string | null; user_id: string | null; value: string | null }[]>(em, sql, params);
  const out: Taken = {};
  for (const r of rows) {
    if (r.what === 'defaultRole') out.defaultRole = r.value as OrganizationRole;
    else if (r.what === 'identity') {
      out.identity = r.user_id!;
      if (r.membership_id !== null) out.member = r.user_id!;
    } else if (r.membership_id !== except) out[r.what] ??= r.user_id!;
  }
  return out;
};

const refuseTaken = (taken: Taken, userName: string | null, externalId: string | null) => {
  if (taken.userName)
    throw uniqueness(`userName "${userName}" is already used by user "${taken.userName}" in this organization.`, { field: 'userName', id: taken.userName });
  if (taken.externalId)
    throw uniqueness(`externalId "${externalId}" is already used by user "${taken.externalId}" in this organization.`, { field: 'externalId', id: taken.externalId });
};

/** POST: refuses a member, a taken userName / externalId, a deleted organization; else the role for the new membership. */
const refuseCreate = (taken: Taken, email: string, userName: string, externalId: string | null): OrganizationRole => {
  if (taken.member)
    throw uniqueness(`A user with email "${email}" is already a member of this organization (id "${taken.member}").`, { field: 'emails', id: taken.member });
  refuseTaken(taken, userName, externalId);
  if (!taken.defaultRole) throw scimError('UNAUTHENTICATED', null, "This SCIM token's organization no longer exists.");
  return taken.defaultRole;
};

/** A POST /Users body, checked. */
interface NewScimUser {
  userName: string;
  externalId: string | null;
  email: string;
  displayName: string | null;
  active: boolean | undefined;
  attributes: Record<string, unknown>;
}

interface ViewParts {
  user: { id: string; email: string; displayName: string | null };
  membership: { id: string; organizationId: string; role: OrganizationRole; status: ScimUserView['status']; createdAt: Date };
  scim: { userName: string; externalId: string | null; attributes: Record<string, unknown>; updatedAt: Date };
}

const viewOf = ({ user, membership: m, scim }: ViewParts, groups: ScimUserView['groups']): ScimUserView => {
  const { emails, ...attributes } = scim.attributes;
  return {
    id: user.id,
    membershipId: m.id,
    organizationId: m.organizationId,
    userName: scim.userName,
    externalId: scim.externalId,
    email: user.email,
    displayName: user.displayName,
    role: m.role,
    status: m.status,
    emails: Array.isArray(emails) && emails.length ? (emails as ScimEmail[]) : [{ value: user.email, primary: true, type: 'work' }],
    attributes,
    groups,
    createdAt: m.createdAt,
    updatedAt: scim.updatedAt,
  };
};

const checkTaken = async (em: Em, organizationId: string, userName: string | null, externalId: string | null, except: string | null) => {
  if (userName === null && externalId === null) return;
  refuseTaken(await takenBy(em, organizationId, { userNameKey: userName?.toLowerCase() ?? null, externalId }, except), userName, externalId);
};

export class ScimUserService {
  constructor(private readonly tx: TransactionRunner) {}

  async list(principal: ScimPrincipal, query: ListQuery<UserFilter>): Promise<ListResult<ScimUserView>> {
    const where = query.filter ? userFilterSql(query.filter, principal.organizationId) : null;
    const em = this.tx.sql;
    const offset = query.startIndex - 1;
    // Filtered lists are small: the page carries the total (one statement). Otherwise count apart.
    if (where) {
      const page = await loadUserViews(em, principal.organizationId, where, { limit: query.count, offset }, true);
      const totalResults = page.total ?? (offset === 0 && query.count > 0 ? 0 : await countUsers(em, principal.organizationId, where));
      return { totalResults, startIndex: query.startIndex, items: page.items };
    }
    const totalResults = await countUsers(em, principal.organizationId, null);
    const items = offset < totalResults ? (await loadUserViews(em, principal.organizationId, null, { limit: query.count, offset })).items : [];
    return { totalResults, startIndex: query.startIndex, items };
  }

  async get(principal: ScimPrincipal, id: string): Promise<ScimUserView> {
    const v = await loadUserView(this.tx.sql, principal.organizationId, id);
    if (!v) throw userNotFound(id, principal.organizationId);
    return v;
  }

  /**
   * POST /Users: a STAGED membership with the organization's default role (source SCIM).
   * An email that exists through another organization links that identity (no second
   * user, its shared attributes untouched); a member of this organization is `uniqueness`.
   *
   * The common case, a new identity, is three statements: the token (by the transport),
   * one read (`takenBy`) and one write (`createIdentity`). Linking goes through `tx.run`.
   */
  async create(principal: ScimPrincipal, input: ScimUserInput): Promise<ScimUserView> {
    const userName = checkUserName(input.userName);
    const externalId = checkExternalId(input.externalId);
    const identity = identityEmailOf(input.emails)?.value ?? userName;
    if (!input.emails.length && !identity.includes('@'))
      throw scimError('BAD_USER_INPUT', 'invalidValue', 'Give the user an email: in "emails", or as a userName that is an email address.', {
        field: 'emails',
      });
    const email = checkEmail(identity);
    const displayName = wantedDisplayName(input);
    const wanted: NewScimUser = {
      userName,
      externalId,
      email,
      displayName: displayName === null ? null : checkName(displayName, 'displayName'),
      active: input.active,
      attributes: storedAttributes(input),
    };
    // Read outside a transaction: inside one (READ COMMITTED, nothing locked) it would see the same.
    const taken = await takenBy(this.tx.sql, principal.organizationId, { userNameKey: userName.toLowerCase(), externalId, email }, null);
    const role = refuseCreate(taken, email, userName, externalId);
    if (taken.identity !== undefined) return this.createMember(principal, wanted, taken);
    try {
      return await this.createIdentity(principal, wanted, role);
    } catch (error) {
      // Lost a race (the email, userName or externalId was written meanwhile, or the
      // organization deleted): the statement wrote nothing; decide again on fresh reads
      // (a refusal with the holder's id, or linking an identity another organization just created).
      if (error instanceof DomainError && error.code === 'CONFLICT') return this.createMember(principal, wanted, null);
      throw error;
    }
  }

  /**
   * A new identity in one statement, its own transaction: the user, the membership and its
   * events (the writer's set-based form), the scim_users row. The organization is locked
   * FOR KEY SHARE first, so the foreign-key checks at the end of the statement, after the
   * append lock, wait on nothing; a unique key taken meanwhile fails the whole statement.
   */
  private createIdentity(principal: ScimPrincipal, w: NewScimUser, role: OrganizationRole): Promise<ScimUserView> {
    return this.tx.statement({ kind: 'scim', tokenId: principal.tokenId }, async ({ sql, actorName, now }) => {
      const organizationId = principal.organizationId;
      const user = { id: newId('usr'), email: w.email, displayName: w.displayName };
      const join = joinStatement({
        membershipId: newId('mem'),
        userId: user.id,
        organizationId,
        init: { role, status: 'STAGED', source: 'SCIM' },
        ...(w.active === false ? { status: transition('SET_STATUS', 'STAGED', 'DISABLED') } : {}),
        actor: actorName,
        now,
        gate: 'new_user',
      });
      const scim = { userName: w.userName, externalId: w.externalId, attributes: w.attributes, updatedAt: now };
      const statement = withCtes(
        [
          { name: 'organization', body: 'select id from organizations where id = ? for key share', params: [organizationId] },
          {
            name: 'new_user',
            body:
              'insert into users (id, email, display_name, last_visited_organization_id, created_at, updated_at) ' +
              'select ?, ?, ?, null, ?::timestamptz, ?::timestamptz from organization returning id',
            params: [user.id, user.email, user.displayName, now, now],
          },
          join.membershipCte,
          {
            name: 'scim_user',
            body:
              'insert into scim_users (membership_id, organization_id, user_name, user_name_key, external_id, attributes, created_at, updated_at) ' +
              'select ?, ?, ?, ?, ?, ?::jsonb, ?::timestamptz, ?::timestamptz from joined returning membership_id',
            params: [join.membership.id, organizationId, w.userName, w.userName.toLowerCase(), w.externalId, JSON.stringify(w.attributes), now, now],
          },
          ...join.eventCtes('scim_user'),
        ],
        APPENDED.sql,
        APPENDED.params,
      );
      const [row] = await executePrepared<{ appended: number }[]>(sql, statement.sql, statement.params);
      // Nothing written: the organization was deleted after the read.
      if (row?.appended !== join.eventCount) throw new DomainError('CONFLICT', 'The organization changed meanwhile; nothing was changed.');
      return { value: viewOf({ user, membership: join.membership, scim }, []), eventsAppended: join.eventCount };
    });
  }

  /** The general path (`taken`: the read done before, if any): links an existing identity, or creates one. */
  private createMember(principal: ScimPrincipal, w: NewScimUser, taken: Taken | null): Promise<ScimUserView> {
    const { userName, externalId, email, displayName: cleanName } = w;
    return this.tx.run({ kind: 'scim', tokenId: principal.tokenId }, async (uow) => {
      const em = uow.em;
      const organizationId = principal.organizationId;
      const role = refuseCreate(taken ?? (await takenBy(em, organizationId, { userNameKey: userName.toLowerCase(), externalId, email }, null)), email, userName, externalId);
      const { user, created } = await findOrCreateUserOutcome(uow, email, cleanName);
      // An existing identity is linked with its shared attributes untouched, unless it
      // belongs to no organization, i.e. to nobody else.
      const existing = !created;
      if (existing && cleanName !== null && user.displayName !== cleanName && (await em.count(Membership, { user })) === 0) {
        user.displayName = cleanName;
        user.updatedAt = uow.now;
      }
      const organization = em.getReference(Organization, organizationId);
      const writer = membershipWriter(uow);
      const m = writer.join(user, organization, { role, status: 'STAGED', source: 'SCIM' });
      if (w.active === false) writer.setStatus(m, transition('SET_STATUS', m.status, 'DISABLED'));
      em.create(ScimUser, {
        membership: m,
        organization,
        userName,
        userNameKey: userName.toLowerCase(),
        externalId,
        attributes: w.attributes,
        createdAt: uow.now,
        updatedAt: uow.now,
      });
      return viewOf(
        {
          user: { id: user.id, email: user.email, displayName: user.displayName ?? null },
          membership: { id: m.id, organizationId, role: m.role, status: m.status, createdAt: m.createdAt },
          scim: { userName, externalId, attributes: w.attributes, updatedAt: uow.now },
        },
        [],
      );
    });
  }

  /** PUT (a full replacement) and PATCH (a function of the current User). */
  replace(principal: ScimPrincipal, id: string, change: UserChange): Promise<ScimUserView> {
    return this.tx.run({ kind: 'scim', tokenId: principal.tokenId }, async (uow) => {
      const em = uow.em;
      const organizationId = principal.organizationId;
      // Serialises concurrent changes of this member (PATCH is read-modify-write).
      const m = await em.findOne(Membership, { user: id, organization: organizationId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!m) throw userNotFound(id, organizationId);
      const current = await loadUserView(em, organizationId, id);
      if (!current) throw userNotFound(id, organizationId);
      const wanted = typeof change === 'function' ? change(current) : change;
      await this.apply(uow, m, current, wanted);
      await em.flush();
      return (await loadUserView(em, organizationId, id))!;
    });
  }

  /**
   * DELETE /Users/{id}: removes this organization's membership (its team memberships
   * and SCIM attributes go with it), and the user only when no membership is left.
   */
  remove(principal: ScimPrincipal, id: string): Promise<void> {
    return this.tx.run({ kind: 'scim', tokenId: principal.tokenId }, async (uow) => {
      const em = uow.em;
      const m = await em.findOne(Membership, { user: id, organization: principal.organizationId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!m) throw userNotFound(id, principal.organizationId);
      await guardLastOrgAdmin(em, m, null, null);
      const elsewhere = await em.count(Membership, { user: id, id: { $ne: m.id } });
      membershipWriter(uow).leave(m);
      if (elsewhere === 0) em.remove(em.getReference(User, id));
    });
  }

  private async apply(uow: UnitOfWork, m: MembershipEntity, current: ScimUserView, wanted: ScimUserInput): Promise<void> {
    const em = uow.em;
    const userName = checkUserName(wanted.userName);
    const externalId = checkExternalId(wanted.externalId);
    const userNameChanged = userName !== current.userName;
    const externalIdChanged = externalId !== current.externalId;
    await checkTaken(
      em,
      current.organizationId,
      userNameChanged && userName.toLowerCase() !== current.userName.toLowerCase() ? userName : null,
      externalIdChanged ? externalId : null,
      m.id,
    );

    // The shared identity: changed only while this organization is the user's only one.
    let elsewhere: boolean | undefined;
    const sharedElsewhere = async () =>
      (elsewhere ??= (await em.count(Membership, { user: current.id, organization: { $ne: current.organizationId } })) > 0);
    let user: UserEntity | undefined;
    const loadUser = async () => (user ??= await em.findOneOrFail(User, { id: current.id }));

    const primary = identityEmailOf(wanted.emails);
    const email = primary ? checkEmail(primary.value) : current.email;
    if (email !== current.email) {
      if (await sharedElsewhere()) throw mutability('emails', current.id);
      const other = await em.findOne(User, { email, id: { $ne: current.id } });
      if (other) throw uniqueness(`The email "${email}" belongs to another user ("${other.id}").`, { field: 'emails', id: other.id });
      const u = await loadUser();
      u.email = email;
      u.updatedAt = uow.now;
    }
    const wantedName = wantedDisplayName(wanted);
    const displayName = wantedName === null ? current.displayName : checkName(wantedName, 'displayName');
    if (displayName !== current.displayName) {
      if (await sharedElsewhere()) throw mutability('displayName', current.id);
      const u = await loadUser();
      u.displayName = displayName;
      u.updatedAt = uow.now;
    }

    // active ↔ status, through the status machine: false → DISABLED; true on DISABLED → STAGED (never ACTIVE).
    const writer = membershipWriter(uow);
    if (wanted.active === false && m.status !== 'DISABLED') {
      const to = transition('SET_STATUS', m.status, 'DISABLED');
      await guardLastOrgAdmin(em, m, m.role, to);
      writer.setStatus(m, to);
    } else if (wanted.active === true && m.status === 'DISABLED') {
      writer.setStatus(m, transition('SET_STATUS', m.status, 'STAGED'));
    }

    // Per-organization attributes.
    const attributes = storedAttributes(wanted);
    const row: ScimUserEntity | null = await em.findOne(ScimUser, { membership: m.id });
    if (!row) {
      em.create(ScimUser, {
        membership: m,
        organization: current.organizationId,
        userName,
        userNameKey: userName.toLowerCase(),
        externalId,
        attributes,
        createdAt: uow.now,
        updatedAt: uow.now,
      });
    } else if (userNameChanged || externalIdChanged || !sameJson(row.attributes, attributes)) {
      row.userName = userName;
      row.userNameKey = userName.toLowerCase();
      row.externalId = externalId;
      row.attributes = attributes;
      row.updatedAt = uow.now;
    }
  }
}
