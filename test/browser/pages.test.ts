/**
 * The hosted pages in headless Chromium, as people use them: a real gateway on PostgreSQL,
 * a real SMTP server for codes and invitations, a real DNS server for domain checks, and an
 * in-test SAML IdP whose signed responses the browser posts. One browser for the whole
 * file; every page is checked with axe-core, screenshotted into dist/screenshots, and no
 * context may request anything from a host other than the gateway.
 */
import { inflateRawSync } from 'node:zlib';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUiBuilt, foreignRequests, launchBrowser, type LoggedContext, newLoggedContext, screenshot, seriousAxeViolations, signInByEmail, UI_TIMEOUT_MS } from '../kit/browser.js';
import { useDns } from '../kit/dns.js';
import { useGateway } from '../kit/gateway.js';
import { codeAndLink, useMailbox } from '../kit/mailbox.js';
import { freePort } from '../kit/net.js';
import { buildResponse, samlifyResponse } from '../kit/saml.js';
import { idpMetadataXml, type TestKeyPair, testKeyPair } from '../kit/saml-keys.js';
import { newUser } from '../kit/scim.js';
import { ok, SET_STATUS, STAGE } from '../kit/world.js';

const IDP_ENTITY_ID = 'https://idp.example.test/metadata';
/** The IdP's sign-in page: a path on the gateway's origin that the browser context answers itself. */
const IDP_PATH = '/test-idp/sso';

let origin: string;
let browser: Browser;
const contexts: LoggedContext[] = [];
let acme: { orgId: string; userId: string; email: string; token: string };

const ADMIN = 'ada@acme.test';
const BOB = 'bob@acme.test';

const newContext = async () => {
  const c = await newLoggedContext(browser);
  contexts.push(c);
  return c;
};

const expectAccessible = async (page: Page, exclude: string[] = []) => {
  expect(await seriousAxeViolations(page, exclude)).toEqual([]);
};

const consoleSection = async (page: Page, name: string, heading: RegExp) => {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
};

/**
 * The in-test IdP: once the gateway has sent the browser to the IdP's sign-in URL (a path on
 * the gateway's own origin that answers 404), the page is replaced by the IdP's answer: a
 * signed response for `email`, InResponseTo the gateway's AuthnRequest, auto-posted to the ACS.
 * (Replacing the page keeps it a loopback document, which Chromium lets post to loopback.)
 */
const answerAsIdp = async (page: Page, connectionId: string, email: string, keys: TestKeyPair) => {
  await page.waitForURL((url) => url.pathname === IDP_PATH);
  const url = new URL(page.url());
  const request = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  const requestId = /\sID="([^"]+)"/.exec(request)![1]!;
  const spMetadata = await (await fetch(`${origin}/saml/${connectionId}/metadata`)).text();
  const sp = { idpEntityId: IDP_ENTITY_ID, acsUrl: `${origin}/saml/${connectionId}/acs`, audience: `${origin}/saml/${connectionId}/metadata` };
  const samlResponse = await samlifyResponse({ entityId: IDP_ENTITY_ID, keys }, spMetadata, buildResponse(sp, { nameId: email, inResponseTo: requestId }));
  const attr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  await page.setContent(`<!doctype html><html lang="en"><head><title>Test IdP</title></head><body><main><h1>Test IdP</h1>
<form method="post" action="${attr(sp.acsUrl)}"><input type="hidden" name="SAMLResponse" value="${attr(samlResponse)}"><input type="hidden" name="RelayState" value="${attr(url.searchParams.get('RelayState') ?? '')}"><button>Continue</button></form>
<script>document.forms[0].submit()</script></main></body></html>`);
};

beforeAll(() => ensureUiBuilt(), 240_000);
const mailbox = useMailbox();
const dns = useDns();
const gw = useGateway(async () => {
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  return {
    port,
    env: {
      ORGWAY_PUBLIC_URL: origin,
      SMTP_URL: mailbox.url,
      ORGWAY_DNS_SERVERS: dns.server,
      ORGWAY_AUTH_RATE_PER_ADDRESS: '1000',
    },
  };
});
beforeAll(async () => {
  acme = await gw.bootstrap('Acme', ADMIN);
  browser = await launchBrowser();
}, 240_000);
afterAll(async () => {
  for (const c of contexts) await c.context.close().catch(() => undefined);
  await browser?.close();
});

describe('hosted pages in Chromium', { timeout: 180_000 }, () => {
  let admin: LoggedContext;
  let bob: LoggedContext;

  it('signs in by email code and lands in the organization', async () => {
    admin = await newContext();
    const { page } = admin;
    await page.goto(`${origin}/`);
    await page.getByRole('heading', { name: 'Sign in to orgway' }).waitFor();
    await expectAccessible(page);
    await screenshot(page, 'sign-in');

    await page.getByLabel('Work email').fill(ADMIN);
    const since = mailbox.received.length;
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Code').waitFor();
    await expectAccessible(page);
    await screenshot(page, 'sign-in-code');

    // A wrong code is refused with the server's words, not a stack.
    await page.getByLabel('Code').fill('000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: UI_TIMEOUT_MS }).toMatch(/code/i);
    expect(await page.getByRole('alert').textContent()).not.toMatch(/\bat .*\.(js|ts):\d+/);

    const { code } = codeAndLink(await mailbox.next(ADMIN, since, UI_TIMEOUT_MS));
    await page.getByLabel('Code').fill(code);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('home-organization').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Acme');
    expect(await page.getByTestId('current-organization').textContent()).toBe('Acme');
    await expectAccessible(page);
    await screenshot(page, 'organizations');
  });

  it('as ORG_ADMIN invites a member, changes a role, and sees a refused transition explained', async () => {
    const { page } = admin;
    await consoleSection(page, 'Members', /Members of Acme/);
    await page.getByLabel('Email').fill(BOB);
    await page.getByLabel('Role', { exact: true }).selectOption('MEMBER');
    await page.getByRole('button', { name: 'Invite' }).click();
    const row = page.getByTestId(`member-${BOB}`);
    await row.waitFor();
    await expect.poll(() => page.getByLabel(`Status of ${BOB}`).inputValue(), { timeout: UI_TIMEOUT_MS }).toBe('INVITED');

    await page.getByLabel(`Role of ${BOB}`).selectOption('VIEWER');
    await page.getByText(`Role of ${BOB}: done.`).waitFor();
    await expect.poll(() => page.getByLabel(`Role of ${BOB}`).inputValue(), { timeout: UI_TIMEOUT_MS }).toBe('VIEWER');

    // INVITED → ACTIVE is not something an admin can do: the page says why, in words.
    await page.getByLabel(`Status of ${BOB}`).selectOption('ACTIVE');
    const alert = page.getByRole('alert').filter({ hasText: 'Status of' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('Cannot change status from INVITED to ACTIVE');
    expect(await alert.textContent()).toContain('becomes ACTIVE only when the user enters the organization');
    expect(await page.getByLabel(`Status of ${BOB}`).inputValue()).toBe('INVITED');
    await expectAccessible(page);
    await screenshot(page, 'console-members');
  });

  it('accepts an invitation, and the admin sees the member become active without reloading', async () => {
    const mail = await mailbox.next(BOB, 0, UI_TIMEOUT_MS);
    const link = /(https?:\/\/\S+\/invitations\/\S+)/.exec(mail.text)?.[1];
    expect(link).toBeDefined();
    bob = await newContext();
    await bob.page.goto(link!);
    await expect.poll(() => bob.page.getByTestId('home-organization').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Acme');
    await expectAccessible(bob.page);
    await screenshot(bob.page, 'invitation-accepted');
    // The admin's page was not reloaded: membershipChanged brought the change.
    await expect.poll(() => admin.page.getByLabel(`Status of ${BOB}`).inputValue(), { timeout: UI_TIMEOUT_MS }).toBe('ACTIVE');
  });

  it('as ORG_ADMIN creates a team with policies and members, and turns on automatic user access', async () => {
    const { page } = admin;
    await consoleSection(page, 'Teams', /Teams of Acme/);
    await page.getByLabel('Name', { exact: true }).fill('Billing');
    await page.getByLabel(/^Policies \(one per line/).fill('billing:read\nbilling:write');
    await page.getByRole('button', { name: 'Create team' }).click();
    const team = page.getByRole('region', { name: /^Billing/ });
    await team.waitFor();
    await team.getByLabel('Add member').selectOption({ label: BOB });
    await team.getByRole('button', { name: 'Add', exact: true }).click();
    await team.getByRole('button', { name: `Remove ${BOB} from Billing` }).waitFor();
    await expectAccessible(page);
    await screenshot(page, 'console-teams');

    await consoleSection(page, 'Automatic user access', /Automatic user access/);
    await page.getByLabel('Let SSO users join automatically').check();
    await page.getByLabel('Default role').selectOption('VIEWER');
    await page.getByLabel(/Allowed email domains/).fill('acme.test');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    await expectAccessible(page);
    await screenshot(page, 'console-automatic-access');
    const saved = ok(
      await gw.gql<{ organization: { automaticUserAccess: { enabled: boolean; defaultRole: string; allowedDomains: string[] } } }>(
        `query($o: ID!) { organization(id: $o) { automaticUserAccess { enabled defaultRole allowedDomains } } }`,
        { o: acme.orgId },
        acme.token,
      ),
    );
    expect(saved.organization.automaticUserAccess).toEqual({ enabled: true, defaultRole: 'VIEWER', allowedDomains: ['acme.test'] });
  });

  it('switches organizations through the switcher; the next sign-in lands in the last visited one', async () => {
    const beta = await gw.bootstrap('Beta Industries');
    const gamma = await gw.bootstrap('Gamma');
    ok(await gw.gql(STAGE, { o: beta.orgId, e: BOB, r: 'MEMBER' }, beta.token));
    const staged = ok(await gw.gql<{ stageUser: { user: { id: string } } }>(STAGE, { o: gamma.orgId, e: BOB, r: 'MEMBER' }, gamma.token));
    ok(await gw.gql(SET_STATUS, { o: gamma.orgId, u: staged.stageUser.user.id, s: 'DISABLED' }, gamma.token));

    const { page } = bob;
    await page.reload();
    await page.getByRole('button', { name: /switch organization/ }).click();
    const menu = page.locator('#organization-list');
    await menu.waitFor();
    const gammaButton = menu.getByRole('button', { name: /Gamma/ });
    expect(await gammaButton.isDisabled()).toBe(true);
    expect(await menu.getByText('Your membership is disabled').textContent()).toMatch(/admin can re-enable it/);
    await expectAccessible(page);
    await screenshot(page, 'switcher');

    await menu.getByRole('button', { name: /Beta Industries/ }).click();
    await expect.poll(() => page.getByTestId('current-organization').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Beta Industries');
    await expect.poll(() => page.getByTestId('home-organization').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Beta Industries');

    // Signing out and in again lands in the organization visited last.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to orgway' }).waitFor();
    await signInByEmail(page, origin, mailbox, BOB);
    expect(await page.getByTestId('home-organization').textContent()).toBe('Beta Industries');
    expect(await page.getByTestId('current-organization').textContent()).toBe('Beta Industries');
  });

  it('creates a SAML connection from metadata, shows refused sign-ins, and signs in through it (also by home-realm discovery)', async () => {
    const { page } = admin;
    const idpKeys = testKeyPair('pages-idp');
    await consoleSection(page, 'SSO connections', /SSO connections/);
    // The metadata file is uploaded (pasting fills the same field).
    const metadata = idpMetadataXml(IDP_ENTITY_ID, `${origin}${IDP_PATH}`, [idpKeys]);
    await page.getByLabel('…or upload the metadata file').setInputFiles({ name: 'idp-metadata.xml', mimeType: 'application/xml', buffer: Buffer.from(metadata) });
    await expect.poll(() => page.getByLabel('IdP metadata XML').inputValue(), { timeout: UI_TIMEOUT_MS }).toBe(metadata);
    await page.getByLabel('Name (optional)').fill('Test IdP');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByText('Created Test IdP').waitFor();
    const card = page.locator('[data-testid^="connection-"]').first();
    const connectionId = (await card.getAttribute('data-testid'))!.replace('connection-', '');
    expect(await card.getByRole('textbox', { name: /ACS URL/ }).inputValue()).toBe(`${origin}/saml/${connectionId}/acs`);
    expect(await card.getByRole('textbox', { name: /SP entity id/ }).inputValue()).toBe(`${origin}/saml/${connectionId}/metadata`);
    const signInUrl = await card.getByRole('textbox', { name: 'Sign-in URL' }).inputValue();
    expect(signInUrl).toBe(`${origin}/saml/${connectionId}/login?organizationId=${acme.orgId}`);
    await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    await card.getByRole('button', { name: /^Copy ACS URL/ }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${origin}/saml/${connectionId}/acs`);
    expect(await card.getByTestId('trust-state').textContent()).toBe('trusted');
    await card.getByRole('button', { name: 'Untrust Test IdP' }).click();
    await expect.poll(() => card.getByTestId('trust-state').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('not trusted');
    await card.getByRole('button', { name: 'Trust Test IdP' }).click();
    await expect.poll(() => card.getByTestId('trust-state').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('trusted');

    // A response signed with a key the connection does not know is refused; the admin sees where.
    const mallory = await newContext();
    await mallory.page.goto(signInUrl);
    await answerAsIdp(mallory.page, connectionId, 'mallory@acme.test', testKeyPair('pages-other-idp'));
    await mallory.page.waitForURL(`${origin}/saml/${connectionId}/acs`);
    await mallory.page.getByText(/signature/i).first().waitFor();
    await page.getByRole('button', { name: 'Refresh' }).click();
    const failures = page.getByRole('table', { name: 'Refused sign-ins' });
    await failures.waitFor();
    expect(await failures.textContent()).toContain('SAML_REJECTED');
    await expectAccessible(page);
    await screenshot(page, 'console-sso');

    // Carol signs in through the connection: the gateway's AuthnRequest, the IdP's signed response, posted by the browser.
    const carol = await newContext();
    await carol.page.goto(signInUrl);
    await answerAsIdp(carol.page, connectionId, 'carol@acme.test', idpKeys);
    await expect.poll(() => carol.page.getByTestId('home-organization').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Acme');

    // The admin signs in through the connection too (adding SSO to the session), verifies acme.test and requires SSO.
    await page.goto(signInUrl);
    await answerAsIdp(page, connectionId, ADMIN, idpKeys);
    await page.getByTestId('home-organization').waitFor();
    await consoleSection(page, 'Domains and required SSO', /Domains and required SSO/);
    await page.getByLabel('Domain', { exact: true }).fill('acme.test');
    await page.getByRole('button', { name: 'Add domain' }).click();
    const txtName = await page.getByRole('textbox', { name: 'TXT record name for acme.test' }).inputValue();
    const txtValue = await page.getByRole('textbox', { name: 'TXT record value for acme.test' }).inputValue();
    dns.txt.set(txtName, [txtValue]);
    await page.getByRole('button', { name: 'Verify acme.test' }).click();
    await page.getByText(/^verified /).waitFor();
    await page.getByRole('button', { name: 'Require SSO' }).click();
    await page.getByText('SSO is now required.').waitFor();
    await expectAccessible(page);
    await screenshot(page, 'console-domains');

    // Home-realm discovery: an acme.test email on the sign-in page goes to the IdP, not to a code.
    const dave = await newContext();
    await dave.page.goto(`${origin}/`);
    const mailsBefore = mailbox.received.length;
    await dave.page.getByLabel('Work email').fill('dave@acme.test');
    await dave.page.getByRole('button', { name: 'Continue' }).click();
    await answerAsIdp(dave.page, connectionId, 'dave@acme.test', idpKeys);
    await expect.poll(() => dave.page.getByTestId('home-organization').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Acme');
    expect(mailbox.received.length).toBe(mailsBefore);
  });

  it('creates a SCIM token (secret shown once) and shows members provisioned by SCIM live, also across a reconnect; revokes it', async () => {
    const { page } = admin;
    await consoleSection(page, 'SCIM provisioning', /SCIM provisioning/);
    expect(await page.getByRole('textbox', { name: 'SCIM endpoint URL (base URL)' }).inputValue()).toBe(`${origin}/scim/v2`);
    await page.getByLabel('Name', { exact: true }).fill('Okta');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByRole('textbox', { name: 'SCIM bearer token' }).inputValue();
    expect(secret.length).toBeGreaterThan(20);
    await expectAccessible(page);
    await screenshot(page, 'console-scim');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.getByRole('textbox', { name: 'SCIM bearer token' }).count()).toBe(0);

    const provision = async (email: string) => {
      const response = await fetch(`${origin}/scim/v2/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify(newUser(email)),
      });
      expect(response.status).toBe(201);
    };

    // The page's sockets pass through the test, which can cut one and read what the page sends.
    const sockets: { page: WebSocketRoute; sent: string[] }[] = [];
    await page.routeWebSocket(`${origin.replace(/^http/, 'ws')}/graphql`, (ws) => {
      const server = ws.connectToServer();
      const socket = { page: ws, sent: [] as string[] };
      sockets.push(socket);
      ws.onMessage((message) => {
        socket.sent.push(String(message));
        server.send(message);
      });
    });
    // Routing applies to pages loaded after it.
    await page.goto(`${origin}/console/members`);
    await page.getByTestId(`member-${ADMIN}`).waitFor();
    // The list is loaded; changes from now on reach it only through the subscription. The
    // subscription may still be starting, so warm-up members are provisioned until one arrives.
    let arrived = false;
    for (let i = 0; i < 10 && !arrived; i++) {
      const email = `warmup${i}@acme.test`;
      await provision(email);
      arrived = await page
        .getByTestId(`member-${email}`)
        .waitFor({ timeout: 5_000 })
        .then(() => true)
        .catch(() => false);
    }
    expect(arrived).toBe(true);
    await provision('erin@acme.test');
    const row = page.getByTestId('member-erin@acme.test');
    await row.waitFor();
    expect(await row.textContent()).toContain('SCIM');
    expect(await page.getByLabel('Status of erin@acme.test').inputValue()).toBe('STAGED');

    // The connection drops; a member provisioned meanwhile still arrives, because the page
    // resubscribes with `after` = the last event it saw and the server replays the rest.
    const first = sockets.length;
    await sockets.at(-1)!.page.close({ code: 1012, reason: 'restarting' });
    await provision('frank@acme.test');
    await page.getByTestId('member-frank@acme.test').waitFor();
    expect(sockets.length).toBeGreaterThan(first);
    const resubscribe = sockets
      .slice(first)
      .flatMap((socket) => socket.sent.map((m) => JSON.parse(m) as { type: string; payload?: { variables?: { after?: string | null } } }))
      .find((m) => m.type === 'subscribe');
    expect(resubscribe?.payload?.variables?.after).toMatch(/^\d+$/);

    // Revoked in the console, the token stops working at once.
    await consoleSection(page, 'SCIM provisioning', /SCIM provisioning/);
    await page.getByRole('button', { name: 'Revoke Okta' }).click();
    await page.getByText(/^Revoked /).waitFor();
    const refused = await fetch(`${origin}/scim/v2/Users`, { headers: { authorization: `Bearer ${secret}` } });
    expect(refused.status).toBe(401);
  });

  it('runs <orgway-org-switcher> in a plain HTML page and fires an event when the organization changes', async () => {
    const delta = await gw.bootstrap('Delta');
    ok(await gw.gql(STAGE, { o: delta.orgId, e: BOB, r: 'MEMBER' }, delta.token));
    const { page } = bob;
    // The plain example page (no framework, no app code): the element and an event listener.
    await page.goto(`${origin}/ui/org-switcher-example.html`);
    const element = page.locator('orgway-org-switcher');
    await expect.poll(() => element.locator('.current').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Beta Industries');
    await element.getByRole('button', { name: /Beta Industries/ }).click();
    const list = element.getByRole('list', { name: 'Organizations' });
    await list.waitFor();
    expect(await list.getByRole('button', { name: /Gamma/ }).isDisabled()).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'org-switcher-element', { x: 0, y: 0, width: 720, height: 240 });
    // A click elsewhere closes the list; the toggle opens it again.
    await page.getByRole('heading', { name: 'Your product' }).click();
    await list.waitFor({ state: 'detached' });
    await element.getByRole('button', { name: /Beta Industries/ }).click();
    await list.waitFor();
    await list.getByRole('button', { name: /Delta/ }).click();
    await expect.poll(() => page.locator('#organization').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Delta (MEMBER)');
    await expect.poll(() => element.locator('.current').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Delta');

    // Without a session the element offers the gateway's sign-in instead.
    const stranger = await newContext();
    await stranger.page.goto(`${origin}/ui/org-switcher-example.html`);
    const signIn = stranger.page.locator('orgway-org-switcher').getByRole('link', { name: 'Sign in' });
    await signIn.waitFor();
    expect(await signIn.getAttribute('href')).toBe(`${origin}/`);
  });

  it('serves the GraphQL explorer at /graphql, offline, with the session cookie', async () => {
    const { page } = admin;
    await page.goto(`${origin}/graphql`);
    await page.locator('.graphiql-container').waitFor();
    // GraphiQL ignores Execute until both Monaco editors exist (they load after the page does): wait
    // for them, and click again while nothing came back, since the store learns of them a little later.
    await page.locator('.graphiql-query-editor .monaco-editor').waitFor();
    await page.locator('.result-window .monaco-editor').waitFor();
    await expect.poll(() => page.locator('.graphiql-query-editor .view-lines').textContent(), { timeout: UI_TIMEOUT_MS }).toContain('viewer');
    const result = page.locator('.result-window');
    await expect
      .poll(
        async () => {
          const text = (await result.textContent()) ?? '';
          const execute = page.getByRole('button', { name: /Execute query/ });
          if (!text.includes(ADMIN) && (await execute.count()) === 1) await execute.click();
          return text;
        },
        { timeout: UI_TIMEOUT_MS, interval: 1_000 },
      )
      .toContain(ADMIN);
    // GraphiQL's editor tabs nest a close button inside the tab element: its markup, not ours.
    await expectAccessible(page, ['.graphiql-tab']);
    await screenshot(page, 'graphql-explorer');
  });

  it('made no request to any host but the gateway', () => {
    expect(contexts.length).toBeGreaterThan(3);
    for (const c of contexts) {
      expect(c.requests.length).toBeGreaterThan(0);
      expect(foreignRequests(c.requests, origin)).toEqual([]);
    }
  });
});
