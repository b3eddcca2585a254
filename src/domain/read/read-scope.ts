/**
 * The read side for one request of one principal: batched, cached, access-checked.
 * Only organizations in the principal's scope (access.ts `acceptsSql`) are ever read as its
 * own: the rule is part of the statements that read the viewer's memberships, not a separate read.
 *
 * Every read a client can make goes through here, so "not a member → null/NOT_FOUND",
 * "cannot enter → FORBIDDEN" and "first ≤ 100" live in one place. Loaders batch by
 * key within a tick (DataLoader), so a page of 50 organizations with their teams and
 * the viewer's permissions costs one statement per kind of data, not one per row. The
 * statements and row decoding are in persistence/read/.
 */
import DataLoader from 'dataloader';
import type { SqlRunner } from '../../persistence/orm.js';
import type { Row, TimestampReader } from '../../persistence/read/row-views.js';
import {
  type MembersPage,
  type MembersPageKey,
  type OrganizationWithMembers,
  readMemberPages,
  readMembershipTeams,
  readOrganizationsWithMembers,
  readOrganizationTeams,
  readTimestamps,
  readUsers,
  readViewerMemberships,
} from '../../persistence/read/statements.js';
import { type AcceptsFilter, countViewerMemberships, type OrganizationTeams, readViewerPage } from '../../persistence/read/viewer-page.js';
import { acceptsParams, acceptsSql, assertAccess, type Principal } from '../access.js';
import {
  badInput,
  canEnter,
  checkFirst,
  decodeCursor,
  effectivePermissions,
  encodeCursor,
  isUserStatus,
  type MembershipView,
  notFound,
  type OrganizationView,
  type Page,
  pageOf,
  type TeamView,
  type UserStatus,
  type UserView,
} from '../model/index.js';

type ViewerMembership = { membership: MembershipView; organization: OrganizationView };

/** `first` ≤ 100 and a known status, checked before access (as every list does); the cursor after it. */
const checkMembersArguments = (first: number, status: UserStatus | null): void => {
  checkFirst(first);
  if (status !== null && !isUserStatus(status)) throw badInput('status', `unknown status ${String(status)}.`);
};

/** The members page asked for, checked: `first` ≤ 100, a known status, a cursor this list returned. */
const membersPageKey = (organizationId: string, first: number, after: string | null, status: UserStatus | null): MembersPageKey => {
  checkMembersArguments(first, status);
  return { organizationId, limit: first + 1, after: after ? decodeCursor(after, 1)[0]! : null, status };
};

/** A members page item whose cursor is encoded only if asked for (most queries read none). */
const lazyCursorItem = (membership: MembershipView): { readonly cursor: string; readonly node: MembershipView } => ({
  get cursor() {
    return encodeCursor([membership.id]);
  },
  node: membership,
});

const TIMESTAMP_KINDS: Record<string, string> = { m: 'Membership', o: 'Organization', t: 'Team' };

export class ReadScope {
  readonly principal: Principal;
  readonly #sql: SqlRunner;
  /** The principal's scope as a filter on organizations, for every statement that reads its own memberships. */
  readonly #accepts: AcceptsFilter;

  /** The viewer's memberships by organization id (null: not a member). */
  readonly #viewerMemberships: DataLoader<string, ViewerMembership | null>;
  /** What the loaders have already answered, for synchronous reads (peek*). */
  readonly #knownViewerMemberships = new Map<string, ViewerMembership | null>();
  readonly #loadedTeams = new Map<string, OrganizationTeams>();
  readonly #organizationTeams: DataLoader<string, OrganizationTeams>;
  readonly #membershipTeams: DataLoader<string, TeamView[]>;
  readonly #users: DataLoader<string, UserView | null>;
  /** Pages of organizations' members, all of a request's pages in one statement. */
  readonly #memberPages: DataLoader<MembersPageKey, MembersPage, string>;
  /** The viewer's membership and a page of members, together (organizationWithMembers). */
  readonly #organizationsWithMembers: DataLoader<MembersPageKey, OrganizationWithMembers, string>;
  /** Timestamps of rows read without them (TimestampReader keys). */
  readonly #timestamps: DataLoader<string, Row>;
  readonly #readTimestamps: TimestampReader = (key) => this.#timestamps.load(key);
  /** Permissions a use case already computed, by membership id. */
  readonly #knownPermissions = new Map<string, string[]>();
  /** Users read with members pages (read only through a membership the viewer could read). */
  readonly #knownUsers = new Map<string, UserView>();

  constructor(sql: SqlRunner, principal: Principal) {
    this.#sql = sql;
    this.principal = principal;
    this.#accepts = { sql: (alias) => acceptsSql(alias), params: acceptsParams(principal) };
    this.#viewerMemberships = new DataLoader(async (orgIds) => {
      const found = await readViewerMemberships(sql, principal.userId, orgIds, this.#accepts);
      orgIds.forEach((id, i) => this.#knownViewerMemberships.set(id, found[i]!));
      return found;
    });
    const membersKeyOf = (k: MembersPageKey) => JSON.stringify([k.organizationId, k.limit, k.after, k.status]);
    this.#memberPages = new DataLoader((keys) => readMemberPages(sql, keys), { cacheKeyFn: membersKeyOf });
    this.#organizationsWithMembers = new DataLoader(
      async (keys) => {
        const found = await readOrganizationsWithMembers(sql, principal.userId, keys, this.#accepts);
        keys.forEach((key, i) => {
          const { viewer, members } = found[i]!;
          if (!this.#knownViewerMemberships.has(key.organizationId)) {
            this.#viewerMemberships.prime(key.organizationId, viewer);
            this.#knownViewerMemberships.set(key.organizationId, viewer);
          }
          if (members) this.#memberPages.prime(key, members);
        });
        return found;
      },
      { cacheKeyFn: membersKeyOf },
    );
    this.#organizationTeams = new DataLoader(async (orgIds) => {
      const entries = await readOrganizationTeams(sql, principal.userId, orgIds);
      orgIds.forEach((id, i) => this.#loadedTeams.set(id, entries[i]!));
      return entries;
    });
    this.#membershipTeams = new DataLoader((ids) => readMembershipTeams(sql, ids));
    this.#users = new DataLoader((ids) => readUsers(sql, ids));
    this.#timestamps = new DataLoader<string, Row>(async (keys) => {
      const rows = await readTimestamps(sql, keys);
      // Undefined: a row deleted since the page was read.
      return keys.map((key, i) => rows[i] ?? notFound(TIMESTAMP_KINDS[key.slice(0, 1)]!, key.slice(2)));
    });
    if (principal.user) this.#users.prime(principal.userId, principal.user);
  }

  /** Seeds the caches with what a write just returned, so reading it back costs nothing. */
  prime(m: MembershipView, o?: OrganizationView, permissions?: string[]): void {
    if (m.userId === this.principal.userId && o) {
      this.#viewerMemberships.clear(o.id).prime(o.id, { membership: m, organization: o });
      this.#knownViewerMemberships.set(o.id, { membership: m, organization: o });
    }
    if (permissions) this.#knownPermissions.set(m.id, permissions);
  }

  async viewerUser(): Promise<UserView> {
    const u = await this.#users.load(this.principal.userId);
    if (!u) throw notFound('User', this.principal.userId);
    return u;
  }

  /** Null when the viewer is not a member (existence is not leaked). */
  async viewerMembership(organizationId: string): Promise<MembershipView | null> {
    return (await this.#viewerMemberships.load(organizationId))?.membership ?? null;
  }

  /** An organization the viewer is a member of (even one it cannot enter), else null. */
  async organization(organizationId: string): Promise<OrganizationView | null> {
    return (await this.#viewerMemberships.load(organizationId))?.organization ?? null;
  }

  /**
   * `organization(id)` when the query also reads its members: the viewer's membership and,
   * when it can enter, that page of members in one statement; members() then answers from
   * the cache. Arguments members() would refuse read only the organization (members() then
   * raises the error).
   */
  async organizationWithMembers(organizationId: string, page: { first: number; after: string | null; status: UserStatus | null }): Promise<OrganizationView | null> {
    if (this.#knownViewerMemberships.has(organizationId)) return this.organization(organizationId);
    let key: MembersPageKey;
    try {
      key = membersPageKey(organizationId, page.first, page.after, page.status);
    } catch {
      return this.organization(organizationId);
    }
    return (await this.#organizationsWithMembers.load(key)).viewer?.organization ?? null;
  }

  /** For fields beyond id/name/viewerMembership: the viewer must be able to enter. */
  async requireEnter(organizationId: string): Promise<OrganizationView> {
    const entry = await this.#viewerMemberships.load(organizationId);
    if (!entry) throw notFound('Organization', organizationId);
    assertAccess({ ...entry.membership, organization: { id: organizationId } }, 'enter');
    return entry.organization;
  }

  async currentOrganization(): Promise<OrganizationView | null> {
    const id = this.principal.currentOrganizationId;
    return id ? this.organization(id) : null;
  }

  async currentMembership(): Promise<MembershipView | null> {
    const id = this.principal.currentOrganizationId;
    return id ? this.viewerMembership(id) : null;
  }

  /**
   * The viewer's memberships (also those it cannot enter), in one statement; with `withTeams`
   * every organization's teams (flagged with the viewer's own) come with it, so that teams and
   * permissions of the whole page need no second statement. Ordered by name without regard to
   * case (then id); the cursor holds that key.
   */
  async viewerOrganizations(
    first: number,
    after: string | null,
    options: { withTeams?: boolean; withTimestamps?: boolean } = {},
  ): Promise<Page<ViewerMembership>> {
    checkFirst(first);
    const afterKey = after ? (decodeCursor(after, 2) as [string, string]) : null;
    const { entries, total } = await readViewerPage(this.#sql, {
      userId: this.principal.userId,
      accepts: this.#accepts,
      limit: first + 1,
      after: afterKey,
      withTeams: options.withTeams ?? false,
      withTimestamps: options.withTimestamps ?? true,
      later: this.#readTimestamps,
    });
    const items: Page<ViewerMembership>['items'] = [];
    for (const entry of entries.slice(0, first)) {
      const orgId = entry.organization.id;
      const node = { membership: entry.membership, organization: entry.organization };
      this.#viewerMemberships.prime(orgId, node);
      this.#knownViewerMemberships.set(orgId, node);
      if (entry.teams) {
        this.#loadedTeams.set(orgId, entry.teams);
        this.#organizationTeams.prime(orgId, entry.teams);
      }
      items.push({ cursor: encodeCursor([entry.sortName, orgId]), node });
    }
    return pageOf(items, total ?? (await countViewerMemberships(this.#sql, this.principal.userId, this.#accepts)), entries.length > first, Boolean(after));
  }

  /** Members of an organization the viewer can enter, oldest first. */
  async members(organizationId: string, first: number, after: string | null, status: UserStatus | null): Promise<Page<MembershipView>> {
    checkMembersArguments(first, status);
    await this.requireEnter(organizationId);
    const { members, total } = await this.#memberPages.load(membersPageKey(organizationId, first, after, status));
    const items = members.slice(0, first).map(({ membership, user }) => {
      this.#users.prime(user.id, user);
      this.#knownUsers.set(user.id, user);
      return lazyCursorItem(membership);
    });
    return pageOf(items, total, members.length > first, Boolean(after));
  }

  // Synchronous reads of what is already loaded. They answer only when the answer is
  // certain (undefined otherwise: use the async method, which also raises the errors).
  // Resolving a page of 50 organizations without a promise per field is most of what
  // the Viewer query costs in GraphQL execution.

  peekTeams(organizationId: string): TeamView[] | undefined {
    const viewer = this.#knownViewerMemberships.get(organizationId);
    if (!viewer || !canEnter(viewer.membership)) return undefined;
    return this.#loadedTeams.get(organizationId)?.teams;
  }

  peekMembershipTeams(m: MembershipView): TeamView[] | undefined {
    if (m.userId !== this.principal.userId) return undefined;
    // The organization's teams are its data: like its other fields, only for a membership that can enter.
    if (!canEnter(m)) return [];
    const entry = this.#loadedTeams.get(m.organizationId);
    return entry?.teams.filter((t) => entry.viewerTeamKeys.has(t.key));
  }

  peekPermissions(m: MembershipView): string[] | undefined {
    if (!canEnter(m)) return [];
    const known = this.#knownPermissions.get(m.id);
    if (known) return known;
    const teams = this.peekMembershipTeams(m);
    if (!teams) return undefined;
    const permissions = effectivePermissions(m, teams.map((t) => t.policies));
    this.#knownPermissions.set(m.id, permissions);
    return permissions;
  }

  async teams(organizationId: string): Promise<TeamView[]> {
    await this.requireEnter(organizationId);
    return (await this.#organizationTeams.load(organizationId)).teams;
  }

  /**
   * Teams of a membership. For the viewer's own memberships this reuses the
   * organization's team list (flagged with the viewer's teams): no extra statement.
   */
  async membershipTeams(m: MembershipView): Promise<TeamView[]> {
    if (m.userId === this.principal.userId) {
      if (!canEnter(m)) return [];
      const entry = await this.#organizationTeams.load(m.organizationId);
      return entry.teams.filter((t) => entry.viewerTeamKeys.has(t.key));
    }
    await this.requireEnter(m.organizationId);
    return this.#membershipTeams.load(m.id);
  }

  async permissions(m: MembershipView): Promise<string[]> {
    if (!canEnter(m)) return [];
    const known = this.#knownPermissions.get(m.id);
    if (known) return known;
    const teams = await this.membershipTeams(m);
    return effectivePermissions(m, teams.map((t) => t.policies));
  }

  /** A user a members page of this request has already read (peek* above), else undefined. */
  peekUser(userId: string): UserView | undefined {
    return this.#knownUsers.get(userId);
  }

  /** A user seen through a membership the viewer may read. */
  async user(userId: string): Promise<UserView> {
    const u = await this.#users.load(userId);
    if (!u) throw notFound('User', userId);
    return u;
  }
}
