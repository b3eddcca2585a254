/**
 * SAML benchmark: SAML sign-ins per second against the real gateway
 * (container + Fastify in its own process, bench/gateway-process.ts) on a fresh
 * PostgreSQL database, every response carrying `OrgAndRole` for 10 organizations and
 * `OrgAndUserGroups` for 3 (two teams each), every assertion fresh (new ID, signed just
 * for this run; replay protection on: each id is inserted into used_assertions).
 *
 * 1. seed 10 organizations that trust one connection, 3 teams in 3 of them (SQL);
 * 2. sign (in this process, with xml-crypto, before measuring) one response per sign-in;
 * 3. first sign-ins: `users` new users, each creating 10 memberships + 3 team sets
 *    (43 statements' worth of changes, 13 events) — measured, reported separately;
 * 4. returning users: `signIns` sign-ins of those users with fresh assertions, from
 *    `concurrency` closed-loop workers over keep-alive connections → sign-ins/s, p50, p99,
 *    gateway CPU per sign-in, PostgreSQL CPU per sign-in;
 * 5. XML verification alone (steps 1–14 of src/transports/saml/verification.ts, schema
 *    validation included) on the same kind of responses in this process → CPU per sign-in;
 *    the gateway's remaining CPU per sign-in is the domain and database work (MikroORM,
 *    the transaction, HTTP).
 *
 * Every response is checked (200 with the landing organization) and the database is
 * checked afterwards. Options `{ quick }`; env BENCH_SAML_SIGNINS, BENCH_SAML_USERS,
 * BENCH_SAML_CONCURRENCY. Needs the openssl CLI (a throwaway IdP key and certificate).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SignedXml } from 'xml-crypto';
import type { SamlConnectionConfig } from '../src/domain/saml-sign-in/types.js';
import { SchemaValidator } from '../src/transports/saml/schema-validator.js';
import { verifySamlResponse } from '../src/transports/saml/verification.js';
import { startChild } from './lib/child.js';
import { cpuDelta, postgresCpu } from './lib/postgres-cpu.js';
import { createBenchDatabase } from './lib/database.js';
import { benchSamlJunk } from './saml-junk.js';
import { httpRequest, type HttpReply as Reply, percentile } from './lib/load.js';

const GATEWAY_SCRIPT = fileURLToPath(new URL('./gateway-process.js', import.meta.url));
const PUBLIC_URL = 'http://127.0.0.1:4000'; // gateway-process.ts's ORGWAY_PUBLIC_URL
const CONNECTION = 'scn_bench';
const IDP = 'https://idp.bench.example/metadata';
const ORGS = Array.from({ length: 10 }, (_, i) => `bench-org-${String(i + 1).padStart(2, '0')}`);
const TEAM_ORGS = ORGS.slice(0, 3);
const TEAMS = ['ugr-a', 'ugr-b', 'ugr-c'];
const ROLES = ['ADMIN', 'VIEWER', 'NO_ACCESS'] as const;

const ACS = `${PUBLIC_URL}/saml/${CONNECTION}/acs`;
const AUDIENCE = `${PUBLIC_URL}/saml/${CONNECTION}/metadata`;

export const keyPair = (): { key: string; cert: string } => {
  const dir = mkdtempSync(join(tmpdir(), 'orgway-bench-saml-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', '/CN=orgway-bench-idp', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], {
      stdio: 'ignore',
    });
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
const iso = (d: Date) => d.toISOString();
let seq = 0;
const nextId = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}${randomBytes(6).toString('hex')}`;

/** A response for user `u`: OrgAndRole for the 10 organizations, OrgAndUserGroups for 3; the assertion signed by xml-crypto. */
export const signedResponse = (keys: { key: string; cert: string }, u: number): string => {
  const now = new Date();
  const end = new Date(now.getTime() + 15 * 60_000);
  const assertionId = nextId('_a');
  const orgAndRole = ORGS.map((o, i) => `SPOTINST-${o}-${ROLES[(u + i) % ROLES.length]}`);
  // Every user can enter the first organization (ADMIN): the landing is never NO_ACCESS.
  orgAndRole[0] = `SPOTINST-${ORGS[0]}-ADMIN`;
  const groups = TEAM_ORGS.map((o, i) => `SPOTINST-${o}:${TEAMS[(u + i) % 3]},${TEAMS[(u + i + 1) % 3]}`);
  const attr = (name: string, values: string[]) =>
    `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
  const xml =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${nextId('_r')}" Version="2.0" IssueInstant="${iso(now)}" Destination="${ACS}">` +
    `<saml:Issuer>${IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${assertionId}" Version="2.0" IssueInstant="${iso(now)}">` +
    `<saml:Issuer>${IDP}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">bench.user.${u}@corp.example.com</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${iso(end)}" Recipient="${ACS}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(now)}" NotOnOrAfter="${iso(end)}"><saml:AudienceRestriction><saml:Audience>${AUDIENCE}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${nextId('_s')}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement>${attr('OrgAndRole', orgAndRole)}${attr('OrgAndUserGroups', groups)}${attr('displayName', [`Bench User ${u}`])}</saml:AttributeStatement>` +
    `</saml:Assertion></samlp:Response>`;
  const sig = new SignedXml({ privateKey: keys.key, publicCert: keys.cert, signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
  sig.addReference({ xpath: `//*[@ID='${assertionId}']`, transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `//*[@ID='${assertionId}']/*[local-name(.)='Issuer']`, action: 'after' } });
  return Buffer.from(sig.getSignedXml()).toString('base64');
};

const seed = async (url: string, cert: string): Promise<void> => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('begin');
    for (const [i, o] of ORGS.entries())
      await c.query(`insert into organizations (id, name, auto_access_enabled, auto_access_default_role, auto_access_domains, created_at, updated_at) values ($1, $2, false, 'MEMBER', '[]', now(), now())`, [o, `Bench ${i + 1}`]);
    await c.query(
      `insert into saml_connections (id, owner_organization_id, name, idp_entity_id, sso_url, signing_certificates, attribute_prefix, default_organization_id, allow_idp_initiated, sp_decryption_key, sp_certificate, created_at, updated_at)
       values ($1, $2, 'bench', $3, 'https://idp.bench.example/sso', $4, 'SPOTINST', null, true, null, null, now(), now())`,
      [CONNECTION, ORGS[0], IDP, JSON.stringify([cert])],
    );
    for (const o of ORGS) await c.query(`insert into saml_trusts (id, connection_id, organization_id, created_at) values ($1, $2, $3, now())`, [`str_${o}`, CONNECTION, o]);
    for (const o of TEAM_ORGS)
      for (const t of TEAMS)
        await c.query(`insert into teams (key, organization_id, team_id, name, policies, external_id, created_at, updated_at) values ($1, $2, $3, $3, '["bench:read"]', null, now(), now())`, [`team_${o}_${t}`, o, t]);
    await c.query('commit');
    await c.query('analyze');
  } finally {
    await c.end();
  }
};


/** Sign-ins come from many browsers: each user its own client address (X-Forwarded-For; the bench gateway trusts it). */
const post = (agent: Agent, base: URL, samlResponse: string, from = '192.0.2.1'): Promise<Reply> =>
  httpRequest(agent, base, {
    method: 'POST',
    path: `/saml/${CONNECTION}/acs`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'x-forwarded-for': from },
    body: Buffer.from(new URLSearchParams({ SAMLResponse: samlResponse }).toString()),
  });


const closedLoop = async (agent: Agent, base: URL, responses: string[], concurrency: number) => {
  const latencies: number[] = [];
  let next = 0;
  let firstError: string | null = null;
  let ok = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= responses.length) return;
        const start = performance.now();
        const r = await post(agent, base, responses[i]!, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
        latencies.push(performance.now() - start);
        if (r.status === 200 && r.body.includes(`"organizationId":"${ORGS[0]}"`)) ok += 1;
        else firstError ??= `${r.status} ${r.body.slice(0, 300)}`;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { seconds, ok, firstError, rate: responses.length / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export async function benchSaml(options: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const quick = options.quick ?? false;
  const users = Number(process.env.BENCH_SAML_USERS ?? (quick ? 100 : 400));
  const signIns = Number(process.env.BENCH_SAML_SIGNINS ?? (quick ? 600 : 4000));
  const concurrency = Number(process.env.BENCH_SAML_CONCURRENCY ?? 16);
  const keys = keyPair();

  // Signed before anything is measured (the IdP's work is not the gateway's).
  const firstResponses = Array.from({ length: users }, (_, u) => signedResponse(keys, u));
  const warmResponses = Array.from({ length: Math.min(200, signIns) }, (_, i) => signedResponse(keys, i % users));
  const returning = Array.from({ length: signIns }, (_, i) => signedResponse(keys, i % users));
  const xmlOnly = Array.from({ length: Math.min(1000, signIns) }, (_, i) => signedResponse(keys, i % users));

  const db = await createBenchDatabase();
  const gateway = await startChild({ name: 'gateway', script: GATEWAY_SCRIPT, env: { BENCH_GATEWAY_DATABASE_URL: db.url }, execArgv: ['--expose-gc'] });
  try {
    await seed(db.url, keys.cert);
    const base = new URL(gateway.url);
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

    // First sign-ins: every user is new (10 JOINED + 3 TEAMS_CHANGED events each).
    const first = await closedLoop(agent, base, firstResponses, concurrency);
    if (first.firstError) throw new Error(`first sign-in failed: ${first.firstError}`);

    // Warm-up of the returning path (JIT, plan cache, schema worker).
    const warm = await closedLoop(agent, base, warmResponses, concurrency);
    if (warm.firstError) throw new Error(`warm-up sign-in failed: ${warm.firstError}`);

    // Returning users, fresh assertions: the measured figure.
    await gateway.call('resetSql');
    const cpu0 = await gateway.call<NodeJS.CpuUsage>('cpu');
    const pg0 = postgresCpu(db.name);
    const measured = await closedLoop(agent, base, returning, concurrency);
    const cpu1 = await gateway.call<NodeJS.CpuUsage>('cpu');
    const pg1 = postgresCpu(db.name);
    const statements = await gateway.call<number>('sql');
    if (measured.firstError) throw new Error(`sign-in failed: ${measured.firstError}`);
    agent.destroy();

    const gatewayCpuMs = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000 / signIns;
    const pgSeconds = cpuDelta(pg0, pg1);
    const postgresCpuMs = pgSeconds === null ? null : (pgSeconds * 1000) / signIns;

    // XML verification alone, in this process, same concurrency (so schema validation batches alike).
    const validator = new SchemaValidator();
    await validator.warmUp();
    const connection: SamlConnectionConfig = {
      id: CONNECTION,
      name: 'bench',
      ownerOrganizationId: ORGS[0]!,
      idpEntityId: IDP,
      ssoUrl: 'https://idp.bench.example/sso',
      signingCertificates: [keys.cert],
      attributePrefix: 'SPOTINST',
      defaultOrganizationId: null,
      allowIdpInitiated: true,
      spDecryptionKey: null,
      spCertificate: null,
    };
    let nextXml = 0;
    const xmlCpu0 = process.cpuUsage();
    const xmlT0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          const i = nextXml++;
          if (i >= xmlOnly.length) return;
          await verifySamlResponse({ SAMLResponse: xmlOnly[i] }, { connection, acsUrl: ACS, audience: AUDIENCE, now: new Date() }, validator);
        }
      }),
    );
    const xmlCpu = process.cpuUsage(xmlCpu0);
    const xmlSeconds = (performance.now() - xmlT0) / 1000;
    const xmlCpuMs = (xmlCpu.user + xmlCpu.system) / 1000 / xmlOnly.length;
    const schemaRuns = validator.stats;
    await validator.close();

    // The database agrees: every sign-in made one session and one used assertion; events carry the SAML actor.
    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    let consistent = false;
    try {
      const q = async (sql: string) => Number((await check.query<{ n: string }>(sql)).rows[0]!.n);
      const total = users + warmResponses.length + signIns;
      const sessions = await q(`select count(*) as n from sessions where kind = 'SESSION'`);
      const used = await q('select count(*) as n from used_assertions');
      const memberships = await q('select count(*) as n from memberships');
      const foreignActors = await q(`select count(*) as n from membership_events where actor <> 'saml:${CONNECTION}'`);
      consistent = sessions === total && used === total && memberships === users * ORGS.length && foreignActors === 0;
      if (!consistent) throw new Error(`database check failed: sessions ${sessions}, used assertions ${used} (want ${total}), memberships ${memberships}, foreign actors ${foreignActors}`);
    } finally {
      await check.end();
    }

    // SPEC §8: junk refusals and a genuine sign-in's p99 under junk load (bench/saml-junk.ts).
    const junkFigures = await benchSamlJunk({
      connection,
      otherCert: keyPair().cert,
      acs: ACS,
      audience: AUDIENCE,
      base,
      connectionId: CONNECTION,
      genuine: () => signedResponse(keys, Math.floor(Math.random() * users)),
      quick,
    });

    return {
      ...junkFigures,
      'returning sign-ins/s (target ≥ 180)': round(measured.rate, 1),
      'returning latency p50 ms': round(measured.p50),
      'returning latency p99 ms': round(measured.p99),
      'first sign-ins/s (new user: 10 memberships, 3 team sets)': round(first.rate, 1),
      'first sign-in latency p99 ms': round(first.p99),
      'gateway CPU ms per sign-in (total)': round(gatewayCpuMs),
      'XML verification CPU ms per sign-in': round(xmlCpuMs),
      'domain + database work CPU ms per sign-in (gateway, rest)': round(Math.max(0, gatewayCpuMs - xmlCpuMs)),
      'PostgreSQL CPU ms per sign-in': postgresCpuMs === null ? 'n/a' : round(postgresCpuMs),
      'SQL statements per sign-in': round(statements / signIns, 1),
      'XML verification alone: responses/s': round(xmlOnly.length / xmlSeconds, 1),
      'schema validation: documents per xmllint run': round(schemaRuns.documents / Math.max(1, schemaRuns.runs), 1),
      'sign-ins measured': signIns,
      users,
      concurrency,
      'database consistent': consistent,
    };
  } finally {
    await gateway.stop();
    await db.drop();
  }
}
