/**
 * Building blocks for GraphQL membership tests: members with their own sessions, refusals,
 * and "nothing changed" checks over the membership tables (db.ts).
 */
import { expect } from 'vitest';
import type { OrganizationRole, UserStatus } from '../../src/domain/model/index.js';
import { MEMBERSHIP_TABLES, rows, snapshot } from './db.js';
import type { Gateway, GqlResult } from './gateway.js';

export interface Admin {
  orgId: string;
  userId: string;
  email: string;
  token: string;
}

export interface Member {
  orgId: string;
  userId: string;
  email: string;
  /** A browser session of this user (current organization: the one it was added to). */
  token: string;
}

let seq = 0;
export const uniqueEmail = (label = 'user'): string => `${label}.${++seq}.${Math.random().toString(36).slice(2, 8)}@example.com`;

/** Fails the test with the GraphQL errors when there are any; returns `data`. */
export const ok = <T>(r: GqlResult<T>): T => {
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data as T;
};

/** The one error of a refused operation. */
export const refused = (r: GqlResult<unknown>): { code: string | undefined; message: string; extensions: Record<string, unknown> } => {
  expect(r.errors, `expected an error, got ${JSON.stringify(r.data)}`).toBeDefined();
  expect(r.errors).toHaveLength(1);
  const e = r.errors![0]!;
  return { code: e.extensions?.code, message: e.message, extensions: e.extensions ?? {} };
};

export const STAGE = `mutation($o: ID!, $e: String!, $r: OrganizationRole) {
  stageUser(organizationId: $o, email: $e, role: $r) { id role status source user { id email } }
}`;
export const INVITE = `mutation($o: ID!, $e: String!, $r: OrganizationRole) {
  inviteUser(organizationId: $o, email: $e, role: $r) { id role status source user { id email } }
}`;
export const SET_STATUS = `mutation($o: ID!, $u: ID!, $s: UserStatus!) {
  setMembershipStatus(organizationId: $o, userId: $u, status: $s) { id role status updatedAt }
}`;
export const SET_ROLE = `mutation($o: ID!, $u: ID!, $r: OrganizationRole!) {
  setMembershipRole(organizationId: $o, userId: $u, role: $r) { id role status permissions }
}`;
export const REMOVE = `mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }`;
export const SWITCH = `mutation($o: ID!) {
  switchOrganization(organizationId: $o) {
    organization { id name }
    membership { id role status permissions lastVisitedAt }
    accessToken { token organizationId expiresAt }
    viewer { currentOrganization { id } currentMembership { status } }
  }
}`;

/**
 * Adds a user to the admin's organization with a role and a status, and gives it a session.
 * STAGED by stageUser, INVITED by inviteUser, ACTIVE by the user switching in, DISABLED by the admin.
 */
export const addMember = async (
  gw: Gateway,
  admin: Pick<Admin, 'orgId' | 'token'>,
  role: OrganizationRole = 'MEMBER',
  status: UserStatus = 'ACTIVE',
  email = uniqueEmail(role.toLowerCase()),
): Promise<Member> => {
  const m = ok(await gw.gql<any>(status === 'INVITED' ? INVITE : STAGE, { o: admin.orgId, e: email, r: role }, admin.token));
  const membership = status === 'INVITED' ? m.inviteUser : m.stageUser;
  const userId = membership.user.id as string;
  const session = await gw.container.identity.createSession(userId, admin.orgId, ['OPERATOR']);
  if (status === 'ACTIVE') ok(await gw.gql(SWITCH, { o: admin.orgId }, session.token));
  if (status === 'DISABLED') ok(await gw.gql(SET_STATUS, { o: admin.orgId, u: userId, s: 'DISABLED' }, admin.token));
  return { orgId: admin.orgId, userId, email, token: session.token };
};

/** Runs `fn` and asserts that no membership table changed. */
export const expectNothingChanged = async (gw: Gateway, fn: () => Promise<unknown>): Promise<void> => {
  const before = await snapshot(gw, MEMBERSHIP_TABLES);
  await fn();
  expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
};

/** The transaction id that last wrote a row (PostgreSQL `xmin`). */
export const rowXmin = async (gw: Gateway, table: string, where: string, params: unknown[]): Promise<string | undefined> => {
  const [row] = await rows<{ xmin: string }>(gw, `select xmin::text as xmin from ${table} where ${where}`, params);
  return row?.xmin;
};

export const membershipRow = async (gw: Gateway, orgId: string, userId: string) => {
  const [row] = await rows<{ id: string; role: string; status: string; source: string }>(
    gw,
    'select id, role, status, source from memberships where organization_id = ? and user_id = ?',
    [orgId, userId],
  );
  return row;
};

/** Decodes (does not verify) a JWT's payload. */
export const jwtPayload = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

/** Runs a refused operation: asserts its code, that no membership table changed, and returns the error. */
export const refusedUnchanged = async (gw: Gateway, code: string, run: () => Promise<GqlResult<unknown>>) => {
  const before = await snapshot(gw, MEMBERSHIP_TABLES);
  const e = refused(await run());
  expect(e.code, e.message).toBe(code);
  expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
  return e;
};
