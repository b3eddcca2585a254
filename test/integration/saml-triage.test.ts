/**
 * SPEC §8 at the ACS, over real sockets: a response whose assertion's SignedInfo one of the
 * connection's keys signed is verified at once (once per signature); anything else (junk, an
 * encrypted assertion) is verified in full in the slow lane, senders taking turns. A genuine
 * sign-in is answered while junk waits; a full lane answers 503 UNAVAILABLE with Retry-After and
 * records nothing; a client that left is not worked for; repeated form fields are read in one
 * pass; a late-handled assertion keeps its replay record; a flood of refusals writes at most
 * ORGWAY_SAML_FAILURES_PER_MINUTE failure records per connection and minute, and cannot use up
 * the budget of responses the IdP's key vouched for.
 */
import { request as httpRequest, Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { beforeAll, describe, expect, test } from 'vitest';
import { rows, SAML_TABLES, snapshot } from '../kit/db.js';
import { metric } from '../kit/gateway.js';
import { b64, C14N, junkSamlResponse } from '../kit/saml.js';
import { testKeyPair } from '../kit/saml-keys.js';
import { type OrgHandle, type SamlWorld, startSamlWorld, useSamlWorld } from '../kit/saml-world.js';

const w = useSamlWorld();
let org: OrgHandle;
let seq = 0;
const email = () => `triage${++seq}@corp.example.com`;
beforeAll(async () => {
  org = await w.org();
});

/** A junk response of about 146 KiB (4,900 filler elements, inclusive C14N). */
const bigJunk = (world: SamlWorld) => b64(junkSamlResponse(world.sp, 4_900, C14N, { filler: '<saml:AttributeValue/>' }));
const formOf = (samlResponse: string) => new URLSearchParams({ SAMLResponse: samlResponse }).toString();

const failureCount = async (world: SamlWorld) =>
  (await rows<{ n: number }>(world.gw, 'select count(*)::int as n from saml_sign_in_failures where connection_id = ?', [world.connectionId]))[0]!.n;
const triaged = (world: SamlWorld, triage: string) => metric(world.gw, `orgway_saml_responses_total{triage="${triage}"}`);
const waiting = (world: SamlWorld) => metric(world.gw, 'orgway_saml_unverified_waiting');

const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

interface Reply {
  status: number;
  retryAfter: string | undefined;
  code: string | undefined;
}

/** POSTs a form to the world's ACS as a JSON client over `agent`. */
const post = (world: SamlWorld, agent: Agent, form: string, from?: string): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const url = new URL(`/saml/${world.connectionId}/acs`, world.gw.url);
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          'content-length': Buffer.byteLength(form),
          ...(from ? { 'x-forwarded-for': from } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = JSON.parse(Buffer.concat(chunks).toString()).error?.code;
          } catch {
            code = undefined;
          }
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], code });
        });
      },
    );
    req.on('error', reject);
    req.end(form);
  });

describe('triage', () => {
  test('the same genuine response twice: vouched for once, then verified in turn (and refused as a replay); other form fields are ignored', async () => {
    const response = w.xmlCrypto({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
    const [vouched0, unverified0] = [await triaged(w, 'vouched'), await triaged(w, 'unverified')];
    const first = await w.post(null, { json: true, body: `${formOf(response)}&Extra=${'x'.repeat(10_000)}` });
    expect(first.status, first.text).toBe(200);
    const again = await w.post(response, { json: true });
    expect(again.status, again.text).toBe(401);
    expect(again.json.error.code).toBe('SAML_REJECTED');
    expect(await triaged(w, 'vouched')).toBe(vouched0 + 1);
    expect(await triaged(w, 'unverified')).toBe(unverified0 + 1);
  });

  test('a genuine response is vouched for; junk is not, and is refused by the full verification', async () => {
    const [vouched0, unverified0] = [await triaged(w, 'vouched'), await triaged(w, 'unverified')];
    const ok = await w.post(w.xmlCrypto({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }), { json: true });
    expect(ok.status, ok.text).toBe(200);
    expect(await triaged(w, 'vouched')).toBe(vouched0 + 1);

    const refused = await w.post(bigJunk(w), { json: true });
    expect(refused.status, refused.text).toBe(401);
    expect(refused.json.error.code).toBe('SAML_REJECTED');
    expect(await triaged(w, 'unverified')).toBe(unverified0 + 1);
    expect(await triaged(w, 'vouched')).toBe(vouched0 + 1);

    // Signed by a key the connection does not hold: not vouched for, refused in full.
    const foreign = await w.post(w.xmlCrypto({ nameId: email() }, testKeyPair('other-idp')), { json: true });
    expect(foreign.status, foreign.text).toBe(401);
    expect(await triaged(w, 'unverified')).toBe(unverified0 + 2);
  });

  test('an encrypted assertion (its signature hidden from the triage) is verified in the slow lane and signs in; behind another sender’s junk it waits one turn, not the backlog', async () => {
    const enc = await startSamlWorld({ t: w.gw.t, env: { ORGWAY_TRUST_PROXY: 'true' } });
    try {
      const spKeys = testKeyPair('sp-encryption');
      await enc.gw.container.samlConnections.update(enc.owner.principal, enc.connectionId, { spDecryptionKey: spKeys.key, spCertificate: spKeys.cert });
      enc.spMetadata = await (await fetch(`${enc.gw.url}/saml/${enc.connectionId}/metadata`)).text();
      const encOrg = await enc.org();
      const unverified0 = await triaged(enc, 'unverified');
      const r = await enc.post(await enc.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${encOrg.orgId}-ADMIN`] } }, { encrypt: true }), { json: true });
      expect(r.status, r.text).toBe(200);
      expect(await triaged(enc, 'unverified')).toBe(unverified0 + 1);
      expect(await triaged(enc, 'vouched')).toBe(0);

      // 60 junk responses from one address wait; an encrypted genuine one from another address takes the next turn of its own.
      const agent = new Agent({ keepAlive: true, maxSockets: 61 });
      try {
        const junkForm = formOf(bigJunk(enc));
        let refused = 0;
        const junk = Array.from({ length: 60 }, () => post(enc, agent, junkForm, '203.0.113.1').then((x) => (refused += 1, x)));
        await until('junk waiting in the slow lane', async () => (await waiting(enc)) >= 40);
        const genuine = await post(
          enc,
          agent,
          formOf(await enc.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${encOrg.orgId}-VIEWER`] } }, { encrypt: true })),
          '203.0.113.2',
        );
        const refusedBeforeGenuine = refused;
        expect(genuine.status).toBe(200);
        await Promise.all(junk);
        expect(refusedBeforeGenuine).toBeLessThan(refused - 20);
      } finally {
        agent.destroy();
      }
    } finally {
      await enc.close();
    }
  });
});

describe('the slow lane under junk', () => {
  test('a genuine sign-in is answered while 100 junk responses wait their turn', async () => {
    const junkForm = formOf(bigJunk(w));
    const agent = new Agent({ keepAlive: true, maxSockets: 100 });
    let verifiedAndRefused = 0;
    const junk = Array.from({ length: 100 }, () =>
      post(w, agent, junkForm).then((r) => {
        if (r.status === 401) verifiedAndRefused += 1;
        return r;
      }),
    );
    try {
      await until('junk waiting in the slow lane', async () => (await waiting(w)) >= 50);
      const genuine = await w.post(w.xmlCrypto({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }), { json: true });
      expect(genuine.status, genuine.text).toBe(200);
      const refusedBeforeGenuine = verifiedAndRefused;
      const replies = await Promise.all(junk);
      // The genuine one did not wait for the junk ahead of it: most of that was refused after it.
      expect(refusedBeforeGenuine).toBeLessThan(verifiedAndRefused - 20);
      expect(new Set(replies.map((r) => `${r.status} ${r.code}`))).toEqual(new Set(['401 SAML_REJECTED']));
      expect(await waiting(w)).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  test('a client that left while waiting is not worked for: its response is never verified (no failure record)', async () => {
    const junkForm = formOf(bigJunk(w));
    const failures0 = await failureCount(w);
    const sockets: Socket[] = [];
    const url = new URL(w.gw.url);
    const head = `POST /saml/${w.connectionId}/acs HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nContent-Length: ${Buffer.byteLength(junkForm)}\r\n\r\n`;
    for (let i = 0; i < 40; i++) {
      const socket = connect(Number(url.port), url.hostname);
      socket.on('error', () => undefined);
      socket.write(head + junkForm);
      sockets.push(socket);
    }
    await until('junk waiting in the slow lane', async () => (await waiting(w)) >= 30);
    for (const s of sockets) s.destroy();
    await until('the slow lane drained', async () => (await waiting(w)) === 0);
    // FIFO: once a later request is answered, every earlier one has had its turn.
    const agent = new Agent({ keepAlive: false });
    expect((await post(w, agent, junkForm)).status).toBe(401);
    const recorded = (await failureCount(w)) - failures0 - 1;
    // At most the ones that had their turn before the sockets closed; without the check all 40 would be.
    expect(recorded).toBeLessThanOrEqual(12);
  });
});

describe('the form', () => {
  test('a body of thousands of repeated fields is read in one pass and refused (it used to cost seconds of CPU)', async () => {
    for (const field of ['SAMLResponse=&', 'RelayState&']) {
      const body = field.repeat(Math.floor((250 * 1024) / field.length));
      const c0 = process.cpuUsage();
      const r = await w.post(null, { json: true, body });
      const c = process.cpuUsage(c0);
      expect(r.status, r.text).toBe(400);
      expect(r.json.error.code).toBe('INVALID_SAML');
      // A sanity bound (gateway and test share this process), far above one pass and far below the quadratic copy.
      expect((c.user + c.system) / 1000).toBeLessThan(500);
    }
  });
});

describe('replay after a wait', () => {
  test('an assertion verified at its arrival time and handled later keeps its replay record for a minute past now, through housekeeping', async () => {
    const assertionId = `_late${Date.now()}`;
    const late = {
      connectionId: w.connectionId,
      email: email(),
      attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] },
      assertionId,
      // Its window (NotOnOrAfter + skew) ended while it waited for its turn.
      expiresAt: new Date(Date.now() - 5_000),
      inResponseTo: null,
      relayState: null,
    };
    await w.gw.container.samlSignIn.signInWithSaml(late);
    const [row] = await rows<{ expires_at: Date }>(w.gw, 'select expires_at from used_assertions where assertion_id = ?', [assertionId]);
    expect(new Date(row!.expires_at).getTime()).toBeGreaterThan(Date.now() + 50_000);
    await w.gw.container.housekeeping.runOnce();
    // A copy that arrived in time and waited as long is still refused.
    await expect(w.gw.container.samlSignIn.signInWithSaml({ ...late, email: late.email })).rejects.toMatchObject({ code: 'SAML_REJECTED', details: { reason: 'REPLAY' } });
  });
});

describe('bounds', () => {
  test('a full lane answers 503 UNAVAILABLE with Retry-After, records nothing for it; vouched responses do not wait', async () => {
    const small = await startSamlWorld({ t: w.gw.t, env: { ORGWAY_SAML_UNVERIFIED_QUEUE_KIB: '256' } });
    try {
      const smallOrg = await small.org();
      const junkForm = formOf(bigJunk(small));
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      const failures0 = await failureCount(small);
      const before = await snapshot(small.gw, SAML_TABLES);
      const replies = await Promise.all(Array.from({ length: 8 }, () => post(small, agent, junkForm)));
      agent.destroy();
      const busy = replies.filter((r) => r.status === 503);
      expect(busy.length).toBeGreaterThan(0);
      for (const r of busy) {
        expect(r.code).toBe('UNAVAILABLE');
        expect(Number(r.retryAfter)).toBeGreaterThan(0);
      }
      const refused = replies.filter((r) => r.status === 401);
      expect(refused.length + busy.length).toBe(8);
      expect(await triaged(small, 'busy')).toBe(busy.length);
      expect(await failureCount(small)).toBe(failures0 + refused.length);
      expect(await snapshot(small.gw, SAML_TABLES)).toEqual(before);

      // A vouched-for response never enters the lane.
      const ok = await small.post(small.xmlCrypto({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${smallOrg.orgId}-VIEWER`] } }), { json: true });
      expect(ok.status, ok.text).toBe(200);
    } finally {
      await small.close();
    }
  });

  test('refusals beyond ORGWAY_SAML_FAILURES_PER_MINUTE are answered the same and counted, not written', async () => {
    const capped = await startSamlWorld({ t: w.gw.t, env: { ORGWAY_SAML_FAILURES_PER_MINUTE: '3' } });
    try {
      const junk = b64(junkSamlResponse(capped.sp, 5, C14N));
      const unrecorded0 = await metric(capped.gw, 'orgway_saml_failures_unrecorded_total');
      for (let i = 0; i < 5; i++) {
        const r = await capped.post(junk, { json: true });
        expect(r.status, r.text).toBe(401);
        expect(r.json.error.code).toBe('SAML_REJECTED');
      }
      expect(await failureCount(capped)).toBe(3);
      expect(await metric(capped.gw, 'orgway_saml_failures_unrecorded_total')).toBe(unrecorded0 + 2);
      // Junk does not use up the budget of responses the IdP's key vouched for: those are still recorded —
      // by the triage, or by the verification (an encrypted assertion, whose signature the triage cannot see).
      const spKeys = testKeyPair('sp-encryption');
      await capped.gw.container.samlConnections.update(capped.owner.principal, capped.connectionId, { spDecryptionKey: spKeys.key, spCertificate: spKeys.cert });
      capped.spMetadata = await (await fetch(`${capped.gw.url}/saml/${capped.connectionId}/metadata`)).text();
      const encryptedWrongAudience = await capped.post(await capped.samlify({ nameId: email(), audience: 'https://elsewhere.example/sp' }, { encrypt: true }), { json: true });
      expect(encryptedWrongAudience.status, encryptedWrongAudience.text).toBe(401);
      expect(await failureCount(capped)).toBe(4);
      const wrongAudience = await capped.post(capped.xmlCrypto({ nameId: email(), audience: 'https://elsewhere.example/sp' }), { json: true });
      expect(wrongAudience.status, wrongAudience.text).toBe(401);
      expect(await failureCount(capped)).toBe(5);
      expect(await metric(capped.gw, 'orgway_saml_failures_unrecorded_total')).toBe(unrecorded0 + 2);
    } finally {
      await capped.close();
    }
  });
});
