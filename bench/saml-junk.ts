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
 *   p99 of each and their ratio.
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
  const per = Math.max(22, Math.floor(budget / opts.elements));
  const text = 'j'.repeat(Math.max(0, per - 43));
  const filler = (per >= 43 ? `<saml:AttributeValue>${text}</saml:AttributeValue>` : '<saml:AttributeValue/>').repeat(opts.elements);
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
  const post = (agent: Agent, samlResponse: string): Promise<HttpReply> =>
    httpRequest(agent, args.base, {
      method: 'POST',
      path: `/saml/${args.connectionId}/acs`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: Buffer.from(new URLSearchParams({ SAMLResponse: samlResponse }).toString()),
    });
  const genuineCount = args.quick ? 60 : 200;
  const genuineRun = async (): Promise<number> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const responses = Array.from({ length: genuineCount }, () => args.genuine());
    const latencies: number[] = [];
    for (const r of responses) {
      const t0 = performance.now();
      const reply = await post(agent, r);
      latencies.push(performance.now() - t0);
      if (reply.status !== 200) throw new Error(`genuine sign-in failed: ${reply.status} ${reply.body.slice(0, 200)}`);
    }
    agent.destroy();
    return percentile(Float64Array.from(latencies).sort(), 99);
  };
  const unloaded = await genuineRun();
  const junk = junkResponse({ c14n: INC, elements: 4_900, acs, idp: connection.idpEntityId });
  const junkAgent = new Agent({ keepAlive: true, maxSockets: 150 });
  let stop = false;
  let junkSent = 0;
  let junkNot4xx = 0;
  const flood = Array.from({ length: 150 }, async () => {
    while (!stop) {
      const r = await post(junkAgent, junk);
      junkSent += 1;
      if (r.status < 400 || r.status >= 500) junkNot4xx += 1;
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  const loaded = await genuineRun();
  stop = true;
  await Promise.all(flood);
  junkAgent.destroy();
  if (junkNot4xx > 0) throw new Error(`${junkNot4xx} junk requests were not refused with 4xx`);
  out['genuine sign-in p99 ms, unloaded (one at a time)'] = round(unloaded);
  out['genuine sign-in p99 ms, 150 junk requests in flight'] = round(loaded);
  out['genuine p99 ratio, loaded / unloaded (target ≤ 2)'] = round(loaded / unloaded);
  out['junk requests refused during the loaded run'] = junkSent;
  return out;
}
