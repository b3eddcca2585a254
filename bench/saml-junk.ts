/**
 * SPEC §8 "Unauthenticated work is bounded", measured: what a junk SAML response costs the
 * gateway to refuse, and what 150 junk requests in flight do to a genuine sign-in.
 *
 * - refusal CPU: junk responses of the largest size the ACS accepts (form body just under
 *   256 KiB), verified in this process (steps 1–14 with schema validation) → CPU ms per
 *   refusal, for a SignedInfo naming exclusive or inclusive C14N, one or two certificates,
 *   and a document over the element limit;
 * - under load: genuine sign-ins one at a time, unloaded, then with 150 junk requests
 *   (inclusive C14N, the kind that used to skip the fast path) kept in flight over HTTP →
 *   p99 of each and their ratio. The ACS's triage verifies the genuine ones at once and the
 *   junk in its slow lane (docs/saml.md, "Triage"): the figures show what that buys.
 */
import { Agent } from 'node:http';
import type { SamlConnectionConfig } from '../src/domain/saml-sign-in/types.js';
import { SchemaValidator } from '../src/transports/saml/schema-validator.js';
import { verifySamlResponse } from '../src/transports/saml/verification.js';
import { httpRequest, type HttpReply, percentile } from './lib/load.js';

const EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const INC = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
/** The ACS's body limit (256 KiB) less room for `SAMLResponse=` and URL-encoding of + / =. */
const FORM_BYTES = 256 * 1024;

/** An unsigned response whose assertion holds `elements` filler elements, padded with text to fill the form. */
export const junkResponse = (opts: { c14n: string; elements: number; acs: string; idp: string }): string => {
  const now = new Date().toISOString();
  const sigValue = Buffer.alloc(256, 0x5a).toString('base64');
  const head =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0" IssueInstant="${now}" Destination="${opts.acs}">` +
    `<saml:Issuer>${opts.idp}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion ID="_junk" Version="2.0" IssueInstant="${now}"><saml:Issuer>${opts.idp}</saml:Issuer>` +
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${opts.c14n}"/>` +
    `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_junk"><ds:Transforms>` +
    `<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="${opts.c14n}"/></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${Buffer.alloc(32).toString('base64')}</ds:DigestValue></ds:Reference></ds:SignedInfo>` +
    `<ds:SignatureValue>${sigValue}</ds:SignatureValue></ds:Signature>` +
    `<saml:Subject><saml:NameID>junk@example.com</saml:NameID></saml:Subject><saml:AttributeStatement><saml:Attribute Name="junk">`;
  const tail = `</saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>`;
  // base64 grows 4/3, URL-encoding a few percent more: aim the XML at 70% of the form.
  const budget = Math.floor(FORM_BYTES * 0.7) - head.length - tail.length;
  const per = Math.max(4, Math.floor(budget / opts.elements));
  const filler = (
    per >= 43 ? `<saml:AttributeValue>${'j'.repeat(per - 43)}</saml:AttributeValue>` : per >= 22 ? '<saml:AttributeValue/>' : `<j/>${'j'.repeat(per - 4)}`
  ).repeat(opts.elements);
  return Buffer.from(head + filler + tail).toString('base64');
};

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export async function benchSamlJunk(args: {
  connection: SamlConnectionConfig;
  otherCert: string;
  acs: string;
  audience: string;
  base: URL;
  connectionId: string;
  genuine: () => string;
  quick: boolean;
}): Promise<Record<string, unknown>> {
  const { connection, acs, audience } = args;
  const out: Record<string, unknown> = {};

  // Refusal CPU, in process.
  const validator = new SchemaValidator();
  await validator.warmUp();
  const reps = args.quick ? 10 : 30;
  const cases: [string, string, number, string[]][] = [
    ['exclusive C14N, 4,900 elements, 1 certificate', EXC, 4_900, [connection.signingCertificates[0]!]],
    ['inclusive C14N, 4,900 elements, 1 certificate', INC, 4_900, [connection.signingCertificates[0]!]],
    ['inclusive C14N, 4,900 elements, 2 certificates', INC, 4_900, [args.otherCert, connection.signingCertificates[0]!]],
    ['inclusive C14N, 25,000 elements (over the limit)', INC, 25_000, [connection.signingCertificates[0]!]],
  ];
  for (const [label, c14n, elements, certs] of cases) {
    const samlResponse = junkResponse({ c14n, elements, acs, idp: connection.idpEntityId });
    const ctx = { connection: { ...connection, signingCertificates: certs }, acsUrl: acs, audience, now: new Date() };
    const cpu: number[] = [];
    for (let i = 0; i < reps + 2; i++) {
      const c0 = process.cpuUsage();
      const refused = await verifySamlResponse({ SAMLResponse: samlResponse }, ctx, validator).then(
        () => false,
        () => true,
      );
      const c = process.cpuUsage(c0);
      if (!refused) throw new Error(`junk accepted: ${label}`);
      if (i >= 2) cpu.push((c.user + c.system) / 1000);
    }
    const sorted = Float64Array.from(cpu).sort();
    out[`junk refusal CPU ms, ${label}, ${Math.round((samlResponse.length * 1.02) / 1024)} KiB form (median / max; target < 20)`] = `${round(percentile(sorted, 50))} / ${round(sorted[sorted.length - 1]!)}`;
  }
  await validator.close();

  // Genuine sign-ins one at a time, unloaded and with 150 junk requests in flight.
  const post = (agent: Agent, samlResponse: string, from: string): Promise<HttpReply> =>
    httpRequest(agent, args.base, {
      method: 'POST',
      path: `/saml/${args.connectionId}/acs`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'x-forwarded-for': from },
      body: Buffer.from(new URLSearchParams({ SAMLResponse: samlResponse }).toString()),
    });
  const genuineCount = args.quick ? 60 : 200;
  let genuineFrom = 0;
  const genuineRun = async (): Promise<{ p99: number; failed: number }> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const responses = Array.from({ length: genuineCount }, () => args.genuine());
    const latencies: number[] = [];
    let failed = 0;
    for (const r of responses) {
      const t0 = performance.now();
      const reply = await post(agent, r, `192.0.2.${(genuineFrom++ % 200) + 1}`).catch(() => null);
      latencies.push(performance.now() - t0);
      if (reply?.status !== 200) failed += 1;
    }
    agent.destroy();
    return { p99: percentile(Float64Array.from(latencies).sort(), 99), failed };
  };
  const junk = junkResponse({ c14n: INC, elements: 4_900, acs, idp: connection.idpEntityId });
  /** 150 junk requests kept in flight while genuine sign-ins run; `from(k)` is the k-th sender's address. */
  const underJunk = async (from: (k: number) => string) => {
    const junkAgent = new Agent({ keepAlive: true, maxSockets: 150 });
    let stop = false;
    const counts = { sent: 0, limited: 0, other4xx: 0, busy: 0, errors: 0 };
    const flood = Array.from({ length: 150 }, async (_, k) => {
      while (!stop) {
        const r = await post(junkAgent, junk, from(k)).catch(() => null);
        counts.sent += 1;
        if (!r) counts.errors += 1;
        else if (r.status === 429) counts.limited += 1;
        else if (r.status >= 400 && r.status < 500) counts.other4xx += 1;
        else if (r.status === 503) counts.busy += 1;
        else throw new Error(`junk answered ${r.status}`);
      }
    });
    await new Promise((r) => setTimeout(r, 500));
    const genuine = await genuineRun();
    stop = true;
    await Promise.all(flood);
    junkAgent.destroy();
    return { genuine, counts };
  };
  const unloaded = await genuineRun();
  out['genuine sign-in p99 ms, unloaded (one at a time)'] = round(unloaded.p99);
  const one = await underJunk(() => '198.51.100.7');
  out['genuine sign-in p99 ms, 150 junk requests in flight from one address'] = round(one.genuine.p99);
  out['genuine p99 ratio, junk from one address (target ≤ 2)'] = round(one.genuine.p99 / unloaded.p99);
  out['junk from one address: sent / refused 429 / refused 4xx / busy 503'] = `${one.counts.sent} / ${one.counts.limited} / ${one.counts.other4xx} / ${one.counts.busy}`;
  const many = await underJunk((k) => `198.51.${100 + (k >> 8)}.${k & 255}`);
  out['genuine sign-in p99 ms, 150 junk requests in flight from 150 addresses'] = round(many.genuine.p99);
  out['genuine p99 ratio, junk from 150 addresses'] = round(many.genuine.p99 / unloaded.p99);
  out['junk from 150 addresses: sent / refused 429 / refused 4xx / busy 503'] = `${many.counts.sent} / ${many.counts.limited} / ${many.counts.other4xx} / ${many.counts.busy}`;
  out['genuine sign-ins that failed (unloaded / one address / 150 addresses)'] = `${unloaded.failed} / ${one.genuine.failed} / ${many.genuine.failed}`;
  return out;
}
