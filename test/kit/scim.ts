/**
 * SCIM over real HTTP against a real gateway: a token created through GraphQL and a small
 * client (db.ts snapshots SCIM_TABLES to prove "nothing changed").
 */
import { expect } from 'vitest';
import { rows } from './db.js';
import type { Gateway } from './gateway.js';

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export interface ScimResponse {
  status: number;
  headers: Headers;
  contentType: string | null;
  body: any;
  text: string;
}

export interface ScimClient {
  token: string;
  tokenId: string;
  orgId: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ScimResponse>;
  get(path: string): Promise<ScimResponse>;
  post(path: string, body: unknown): Promise<ScimResponse>;
  put(path: string, body: unknown): Promise<ScimResponse>;
  patch(path: string, body: unknown): Promise<ScimResponse>;
  del(path: string): Promise<ScimResponse>;
}

export const scimFetch = async (
  gw: Gateway,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ScimResponse> => {
  const res = await fetch(`${gw.url}/scim/v2${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, contentType: res.headers.get('content-type'), body: parsed, text };
};

export const CREATE_TOKEN = `mutation($o: ID!, $n: String!) { createScimToken(organizationId: $o, name: $n) { token scimToken { id name createdAt revokedAt createdByUserId } } }`;
export const REVOKE_TOKEN = `mutation($o: ID!, $t: ID!) { revokeScimToken(organizationId: $o, tokenId: $t) { id revokedAt } }`;
export const LIST_TOKENS = `query($o: ID!) { organization(id: $o) { scimTokens { id name createdAt revokedAt } } }`;

export const createScimToken = async (gw: Gateway, admin: { orgId: string; token: string }, name = 'IdP'): Promise<{ token: string; tokenId: string }> => {
  const r = await gw.gql<any>(CREATE_TOKEN, { o: admin.orgId, n: name }, admin.token);
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return { token: r.data.createScimToken.token, tokenId: r.data.createScimToken.scimToken.id };
};

export const scimClient = async (gw: Gateway, admin?: { orgId: string; token: string }): Promise<ScimClient & { admin: { orgId: string; userId: string; token: string } }> => {
  const a = (admin as { orgId: string; userId: string; token: string } | undefined) ?? (await gw.bootstrap());
  const { token, tokenId } = await createScimToken(gw, a);
  const request = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => scimFetch(gw, token, method, path, body, headers);
  return {
    admin: a,
    token,
    tokenId,
    orgId: a.orgId,
    request,
    get: (p) => request('GET', p),
    post: (p, b) => request('POST', p, b),
    put: (p, b) => request('PUT', p, b),
    patch: (p, b) => request('PATCH', p, b),
    del: (p) => request('DELETE', p),
  };
};

/** An RFC 7644 §3.12 error with this status and scimType, as application/scim+json. */
export const expectScimError = (r: ScimResponse, status: number, scimType?: string | null): void => {
  expect(r.status, r.text).toBe(status);
  expect(r.contentType).toMatch(/^application\/scim\+json/);
  expect(r.body.schemas).toEqual([ERROR]);
  expect(r.body.status).toBe(String(status));
  if (scimType === null) expect(r.body.scimType).toBeUndefined();
  else if (scimType !== undefined) expect(r.body.scimType).toBe(scimType);
  expect(typeof r.body.detail).toBe('string');
  expect(r.body.detail.length).toBeGreaterThan(10);
};

export const newUser = (email: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER],
  userName: email,
  name: { givenName: 'Test', familyName: 'User' },
  emails: [{ primary: true, value: email, type: 'work' }],
  displayName: 'Test User',
  active: true,
  ...extra,
});

export const patchOp = (...operations: Record<string, unknown>[]) => ({ schemas: [PATCH_OP], Operations: operations });

/** The organization's events, in id order. */
export const events = (gw: Gateway, organizationId: string) =>
  rows<{ type: string; user_id: string; actor: string; status: string | null; previous_status: string | null; team_ids: unknown; previous_team_ids: unknown }>(
    gw,
    'select * from membership_events where organization_id = ? order by id',
    [organizationId],
  );
