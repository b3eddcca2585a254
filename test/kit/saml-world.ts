/**
 * A gateway with a SAML connection and helpers to post responses to its ACS, as the
 * user's browser would (form POST), or as a JSON client.
 */
import type { Principal } from '../../src/domain/access.js';
import type { OrganizationRole } from '../../src/domain/model/index.js';
import { afterAll, beforeAll, expect } from 'vitest';
import { rows, SAML_TABLES, snapshot } from './db.js';
import { type Gateway, startGateway, type StartOptions } from './gateway.js';
import { started } from './started.js';
import { type AssertionSpec, b64, buildResponse, samlifyResponse, signWithXmlCrypto, type SpContext } from './saml.js';
import { idpMetadataXml, type TestKeyPair, testKeyPair } from './saml-keys.js';

export const IDP_ENTITY_ID = 'https://idp.example.test/metadata';
export const IDP_SSO_URL = 'https://idp.example.test/sso';

export interface PostResult {
  status: number;
  text: string;
  json: any;
  /** The orgway_session cookie value, when one was set. */
  session: string | null;
  setCookie: string | null;
  location: string | null;
}

export interface OrgHandle {
  orgId: string;
  adminUserId: string;
  adminToken: string;
  principal: Principal;
}

export interface SamlWorld {
  gw: Gateway;
  owner: OrgHandle;
  connectionId: string;
  sp: SpContext;
  idpKeys: TestKeyPair;
  spMetadata: string;
  /** An organization with its ORG_ADMIN; trusts the connection unless `trust: false`. */
  org(options?: { id?: string; name?: string; trust?: boolean; autoAccess?: { defaultRole?: OrganizationRole; domains?: string[] } }): Promise<OrgHandle>;
  principal(token: string): Promise<Principal>;
  /** A response signed by the in-test samlify IdP (base64). */
  samlify(spec?: AssertionSpec, options?: { encrypt?: boolean; signMessage?: boolean; keys?: TestKeyPair }): Promise<string>;
  /** A response whose assertion is signed by xml-crypto directly (base64). */
  xmlCrypto(spec?: AssertionSpec, keys?: TestKeyPair): string;
  post(samlResponse: string | null, options?: { relayState?: string; json?: boolean; connectionId?: string; body?: string; contentType?: string; cookie?: string }): Promise<PostResult>;
  close(): Promise<void>;
}

let seq = 0;

export const startSamlWorld = async (options: SamlWorldOptions = {}): Promise<SamlWorld> => {
  // Attack corpora refuse many responses in a minute and expect each one recorded.
  const gw = await startGateway({ ...options, env: { ORGWAY_SAML_FAILURES_PER_MINUTE: '100000', ...options.env } });
  const idpKeys = testKeyPair('idp');
  const principal = (token: string) => gw.container.identity.authenticate(token);

  const makeOrg: SamlWorld['org'] = async (o = {}) => {
    seq += 1;
    const r = await gw.container.organizations.bootstrap({
      organizationName: o.name ?? `Org ${seq} ${Math.random().toString(36).slice(2, 6)}`,
      organizationId: o.id ?? null,
      adminEmail: `admin${seq}.${Math.random().toString(36).slice(2, 8)}@admins.example.org`,
    });
    const p = await principal(r.apiToken.token);
    const handle = { orgId: r.organization.id, adminUserId: r.userId, adminToken: r.apiToken.token, principal: p };
    if (o.autoAccess)
      await gw.container.organizations.setAutomaticUserAccess(p, handle.orgId, {
        enabled: true,
        defaultRole: o.autoAccess.defaultRole ?? 'MEMBER',
        allowedDomains: o.autoAccess.domains ?? [],
      });
    return handle;
  };

  const owner = await makeOrg({ name: 'Owner org' });
  const connection = await gw.container.samlConnections.create(owner.principal, owner.orgId, {
    metadataXml: idpMetadataXml(IDP_ENTITY_ID, IDP_SSO_URL, [idpKeys]),
    allowIdpInitiated: options.connection?.allowIdpInitiated ?? true,
    attributePrefix: options.connection?.attributePrefix ?? null,
  });
  const publicUrl = gw.container.config.publicUrl;
  const sp: SpContext = {
    idpEntityId: IDP_ENTITY_ID,
    acsUrl: `${publicUrl}/saml/${connection.id}/acs`,
    audience: `${publicUrl}/saml/${connection.id}/metadata`,
  };
  const spMetadata = await (await fetch(`${gw.url}/saml/${connection.id}/metadata`)).text();

  const world: SamlWorld = {
    gw,
    owner,
    connectionId: connection.id,
    sp,
    idpKeys,
    spMetadata,
    org: async (o = {}) => {
      const h = await makeOrg(o);
      if (o.trust !== false) await gw.container.samlConnections.trust(h.principal, h.orgId, connection.id);
      return h;
    },
    principal,
    samlify: (spec = {}, o = {}) => samlifyResponse({ entityId: IDP_ENTITY_ID, keys: o.keys ?? idpKeys, encrypt: o.encrypt, signMessage: o.signMessage }, world.spMetadata, buildResponse(sp, spec)),
    xmlCrypto: (spec = {}, keys = idpKeys) => {
      const parts = buildResponse(sp, spec);
      return b64(signWithXmlCrypto(parts.xml, parts.assertionId, keys));
    },
    async post(samlResponse, o = {}) {
      const form = new URLSearchParams();
      if (samlResponse !== null) form.set('SAMLResponse', samlResponse);
      if (o.relayState !== undefined) form.set('RelayState', o.relayState);
      const res = await fetch(`${gw.url}/saml/${o.connectionId ?? connection.id}/acs`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': o.contentType ?? 'application/x-www-form-urlencoded',
          accept: o.json ? 'application/json' : 'text/html,application/xhtml+xml,*/*;q=0.8',
          ...(o.cookie ? { cookie: o.cookie } : {}),
        },
        body: o.body ?? form.toString(),
      });
      const text = await res.text();
      let json: any = null;
      try {
        json = JSON.parse(text);
      } catch {
        // an HTML page or an empty body
      }
      const setCookie = res.headers.get('set-cookie');
      const m = setCookie ? /orgway_session=([^;]+)/.exec(setCookie) : null;
      return { status: res.status, text, json, session: m ? m[1]! : null, setCookie, location: res.headers.get('location') };
    },
    close: () => gw.close(),
  };
  return world;
};

export type SamlWorldOptions = StartOptions & { connection?: { allowIdpInitiated?: boolean; attributePrefix?: string } };

/** A SAML world for the file (or describe block): started in beforeAll, closed in afterAll. */
export const useSamlWorld = (options: SamlWorldOptions | (() => SamlWorldOptions | Promise<SamlWorldOptions>) = {}): SamlWorld => {
  const handle = started<SamlWorld>('useSamlWorld');
  beforeAll(async () => handle.set(await startSamlWorld(typeof options === 'function' ? await options() : options)));
  afterAll(() => handle.current()?.close());
  return handle.value;
};

/** The sign-in failure admins see last (newest first). */
export const lastSamlFailure = async (w: SamlWorld) =>
  (
    await rows<{ code: string; message: string; detail: string | null; email: string | null }>(
      w.gw,
      'select code, message, detail, email from saml_sign_in_failures order by occurred_at desc, id desc limit 1',
    )
  )[0];

const samlFailureCount = async (w: SamlWorld) =>
  (await rows<{ n: number }>(w.gw, 'select count(*)::int as n from saml_sign_in_failures'))[0]!.n;

/**
 * Posts, expects the refusal (status, code, message), no session, and that nothing
 * changed but the failure record (one more, with that code, unless `recorded` is false).
 */
export const expectSamlRefused = async (
  w: SamlWorld,
  post: () => Promise<PostResult>,
  status: number,
  code: string,
  options: { messageContains?: string | undefined; recorded?: boolean } = {},
): Promise<PostResult> => {
  const before = await snapshot(w.gw, SAML_TABLES);
  const failures = await samlFailureCount(w);
  const r = await post();
  expect(r.status, r.text).toBe(status);
  expect(r.json?.error?.code, r.text).toBe(code);
  if (options.messageContains) expect(r.json.error.message).toContain(options.messageContains);
  expect(r.session).toBeNull();
  expect(await snapshot(w.gw, SAML_TABLES)).toEqual(before);
  const recorded = options.recorded ?? true;
  expect(await samlFailureCount(w)).toBe(failures + (recorded ? 1 : 0));
  if (recorded) expect((await lastSamlFailure(w))!.code).toBe(code);
  return r;
};
