/**
 * The console's audit log and webhooks sections in headless Chromium: a real gateway on
 * PostgreSQL, a real SMTP server for the sign-in code, and a real HTTP receiver that verifies
 * every message with the `standardwebhooks` library using the secret the page showed. Each
 * page is checked with axe-core and screenshotted; no request leaves the gateway's origin.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ensureUiBuilt, foreignRequests, launchBrowser, type LoggedContext, newLoggedContext, screenshot, seriousAxeViolations, signInByEmail, UI_TIMEOUT_MS } from '../kit/browser.js';
import { rows } from '../kit/db.js';
import { lastEventId } from '../kit/events.js';
import { useGateway } from '../kit/gateway.js';
import { useMailbox } from '../kit/mailbox.js';
import { freePort } from '../kit/net.js';
import { movableClock, type Receiver, skipBackoff, startReceiver, waitFor } from '../kit/webhooks.js';
import { ok, REMOVE, SET_ROLE, SET_STATUS, STAGE } from '../kit/world.js';

/** Deliveries happen in the background; a loaded machine may take a while. */
const DELIVERY_TIMEOUT_MS = 90_000;

const ADMIN = 'ada@acme.test';

let origin: string;
let receiver: Receiver;
let failingReceiver: Receiver;
/** The gateway's clock, moved forward to reach the end of the retry window without waiting a day. */
const clock = movableClock();
let browser: Browser;
let admin: LoggedContext;
let acme: { orgId: string; userId: string; email: string; token: string };

const expectAccessible = async (page: Page) => {
  expect(await seriousAxeViolations(page)).toEqual([]);
};

const consoleSection = async (page: Page, name: string, heading: RegExp) => {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
};

/** Stages a member by the admin's API token; returns the user id. */
const stage = async (email: string, role = 'MEMBER'): Promise<string> =>
  ok(await gw.gql<{ stageUser: { user: { id: string } } }>(STAGE, { o: acme.orgId, e: email, r: role }, acme.token)).stageUser.user.id;

const setRole = async (userId: string, role: string) => {
  ok(await gw.gql(SET_ROLE, { o: acme.orgId, u: userId, r: role }, acme.token));
};

/** Event ids the receiver verified with one of its secrets. */
const verifiedIds = () => receiver.received.filter((r) => r.verified !== null).map((r) => r.id);

/** The event ids of the audit log rows shown, in page order. */
const shownEventIds = async (page: Page): Promise<number[]> =>
  (await page.locator('table.events tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-testid') ?? ''))).map((id) => Number(id.replace('event-', '')));

/** The text of one column of the audit log's rows (1-based, counting the row header). */
/** Clicks Refresh until `row` is shown. */
const refreshUntilShown = async (page: Page, row: Locator) => {
  const end = Date.now() + UI_TIMEOUT_MS * 2;
  while (!(await row.waitFor({ timeout: 3_000 }).then(() => true, () => false))) {
    if (Date.now() > end) throw new Error('the row never appeared');
    await page.getByRole('button', { name: 'Refresh' }).click();
  }
};

const shownColumn = async (page: Page, column: number): Promise<string[]> =>
  page.locator(`table.events tbody tr > :nth-child(${column})`).allTextContents();

beforeAll(async () => {
  await ensureUiBuilt();
  receiver = await startReceiver();
  failingReceiver = await startReceiver();
}, 240_000);
afterAll(async () => {
  await receiver?.close();
  await failingReceiver?.close();
});
const mailbox = useMailbox();
const gw = useGateway(async () => {
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  return {
    port,
    clock,
    env: {
      ORGWAY_PUBLIC_URL: origin,
      SMTP_URL: mailbox.url,
      ORGWAY_AUTH_RATE_PER_ADDRESS: '1000',
      // The receiver listens on loopback.
      ORGWAY_WEBHOOK_ALLOW_PRIVATE: 'true',
      ORGWAY_WEBHOOK_TIMEOUT_MS: '10000',
    },
  };
});
beforeAll(async () => {
  acme = await gw.bootstrap('Acme', ADMIN);
  browser = await launchBrowser();
  admin = await newLoggedContext(browser);
  await signInByEmail(admin.page, origin, mailbox, ADMIN);
}, 240_000);
afterAll(async () => {
  await admin?.context.close().catch(() => undefined);
  await browser?.close();
});

describe('console: webhooks and the audit log in Chromium', { timeout: 300_000 }, () => {
  it('creates an endpoint (secret shown once), shows signed deliveries, redelivers, disables and enables, edits, rotates and deletes it', async () => {
    const { page } = admin;
    await consoleSection(page, 'Webhooks', /Webhooks of Acme/);
    await page.getByText('No endpoints yet.').waitFor();
    await expectAccessible(page);

    // The server's refusal is shown in its words, not a stack.
    await page.getByLabel('Endpoint URL').fill('ftp://hooks.example.com/orgway');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'Not created:' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/https/);
    expect(await refusal.textContent()).not.toMatch(/\bat .*\.(js|ts):\d+/);

    // A new endpoint starts after the newest final event: let the set-up's events become final first.
    await lastEventId(gw);
    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const secretField = page.getByRole('textbox', { name: 'Signing secret' });
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^whsec_/);
    expect(await page.getByText(/it is not shown again/).textContent()).toContain(receiver.url);
    receiver.secrets.push(secret);
    await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    await page.getByRole('button', { name: 'Copy Signing secret' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const card = page.getByRole('region', { name: receiver.url });
    await card.waitFor();
    expect(await card.getByTestId('endpoint-state').textContent()).toBe('enabled');
    await expectAccessible(page);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await secretField.count()).toBe(0);
    // Nor does the list ever show it.
    await page.reload();
    await card.waitFor();
    expect(await page.content()).not.toContain(secret);

    // Membership changes made now are delivered, signed with the secret the page showed.
    const carol = await stage('carol@acme.test');
    await setRole(carol, 'VIEWER');
    await stage('dave@acme.test');
    await waitFor('three verified deliveries', () => verifiedIds().length >= 3, DELIVERY_TIMEOUT_MS);
    expect(receiver.received.every((r) => r.verified !== null)).toBe(true);
    expect(receiver.received.slice(0, 3).map((r) => r.verified!.type)).toEqual(['membership.joined', 'membership.role_changed', 'membership.joined']);

    await card.getByRole('button', { name: 'Show deliveries' }).click();
    const deliveries = card.getByRole('table', { name: 'Recent deliveries' });
    const firstEventId = receiver.received[0]!.id;
    const firstAttempt = deliveries.getByRole('row').filter({ has: page.getByRole('rowheader', { name: `#${firstEventId}`, exact: true }) });
    await expect.poll(() => firstAttempt.count(), { timeout: UI_TIMEOUT_MS }).toBe(1);
    // The receiver answers before the attempt is recorded: the page may need another read for the last one.
    await expect.poll(() => deliveries.getByRole('row').count(), { timeout: UI_TIMEOUT_MS }).toBeGreaterThanOrEqual(4);
    const cells = await firstAttempt.getByRole('cell').allTextContents();
    expect(cells[0]).toBe('1');
    expect(cells[1]).toBe('Succeeded');
    expect(cells[2]).toBe('200');
    expect(cells[3]).toMatch(/^\d+ ms$/);
    await expect.poll(() => card.getByTestId('endpoint-last-event').textContent(), { timeout: UI_TIMEOUT_MS }).toBe(`#${receiver.received[2]!.id}`);

    // Redelivered: the receiver gets the event again, and the page shows the extra attempt.
    await firstAttempt.getByRole('button', { name: `Redeliver event ${firstEventId} (attempt 1)` }).click();
    await card.getByText(`Event #${firstEventId} will be sent again shortly.`).waitFor();
    await waitFor('the redelivery', () => verifiedIds().filter((id) => id === firstEventId).length === 2, DELIVERY_TIMEOUT_MS);
    const redelivery = deliveries.getByRole('row').filter({ hasText: '(redelivery)' });
    await expect.poll(async () => (await redelivery.count()) === 1 && (await redelivery.getByRole('cell').nth(1).textContent()), { timeout: UI_TIMEOUT_MS }).toBe('Succeeded');
    expect(await redelivery.getByRole('rowheader').textContent()).toBe(`#${firstEventId}`);
    expect(await redelivery.getByRole('cell').first().textContent()).toBe('2 (redelivery)');
    await expectAccessible(page);
    await screenshot(page, 'console-webhooks');

    // Disabled, it holds events; enabled again, it resumes with the one it stopped at.
    await card.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => card.getByTestId('endpoint-state').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('disabled');
    const before = receiver.received.length;
    await setRole(carol, 'MEMBER');
    await card.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => card.getByTestId('endpoint-state').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('enabled');
    await waitFor('the event held while disabled', () => receiver.received.length > before, DELIVERY_TIMEOUT_MS);
    expect(receiver.received[before]!.verified?.type).toBe('membership.role_changed');
    expect(receiver.received[before]!.verified?.data.previousRole).toBe('VIEWER');

    // Edited to role changes only: a JOINED event is skipped, the role change after it arrives.
    await card.getByRole('button', { name: 'Edit' }).click();
    const edit = card.getByRole('group', { name: 'Event types to send' });
    for (const type of ['Joined', 'Status changed', 'Teams changed', 'Left']) await edit.getByLabel(type).uncheck();
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    await card.getByText('Saved.').waitFor();
    await expect.poll(() => card.locator('dd').nth(1).textContent(), { timeout: UI_TIMEOUT_MS }).toBe('Role changed');
    const joinedSkipped = receiver.received.length;
    const erin = await stage('erin@acme.test');
    await setRole(erin, 'VIEWER');
    await waitFor('the role change of erin', () => receiver.received.some((r) => r.verified?.data.userId === erin), DELIVERY_TIMEOUT_MS);
    expect(receiver.received.slice(joinedSkipped).map((r) => r.verified?.type)).toEqual(['membership.role_changed']);

    // Rotated: the new secret is shown once; during the overlap both secrets sign.
    await card.getByLabel('Old secret keeps signing for (seconds)').fill('600');
    await card.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = await page.getByRole('textbox', { name: 'Signing secret' }).inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await card.getByText(/^also signs until /).waitFor();
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.getByRole('textbox', { name: 'Signing secret' }).count()).toBe(0);
    receiver.secrets.splice(0, receiver.secrets.length, rotated);
    const rotatedFrom = receiver.received.length;
    await setRole(erin, 'MEMBER');
    await waitFor('a delivery after the rotation', () => receiver.received.length > rotatedFrom, DELIVERY_TIMEOUT_MS);
    const afterRotation = receiver.received[rotatedFrom]!;
    expect(afterRotation.verified?.data.userId).toBe(erin);
    expect(afterRotation.signature.split(' ')).toHaveLength(2);

    // More attempts than one read shows: older ones come a page at a time, down to the first.
    const dave = ok(await gw.gql<{ organization: { members: { edges: { node: { user: { id: string; email: string } } }[] } } }>(
      `query($o: ID!) { organization(id: $o) { members(first: 100) { edges { node { user { id email } } } } } }`,
      { o: acme.orgId },
      acme.token,
    )).organization.members.edges.find((e) => e.node.user.email === 'dave@acme.test')!.node.user.id;
    const olderFrom = receiver.received.length;
    for (const role of ['VIEWER', 'MEMBER', 'VIEWER', 'MEMBER']) await setRole(dave, role);
    await waitFor('four more deliveries', () => receiver.received.length >= olderFrom + 4, DELIVERY_TIMEOUT_MS);
    // Opened afresh, the table holds one page (while open it keeps every attempt it has read).
    await card.getByRole('button', { name: 'Hide deliveries' }).click();
    await card.getByRole('button', { name: 'Show deliveries' }).click();
    const rows = deliveries.locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: UI_TIMEOUT_MS }).toBe(10);
    await expect.poll(() => rows.first().getByRole('rowheader').textContent(), { timeout: UI_TIMEOUT_MS }).toBe(`#${receiver.received.at(-1)!.id}`);
    // Every request the receiver got is one attempt.
    const attemptsMade = receiver.received.length;
    expect(attemptsMade).toBeGreaterThan(10);
    expect(attemptsMade).toBeLessThanOrEqual(20);
    await card.getByRole('button', { name: 'Show older attempts' }).click();
    await expect.poll(() => rows.count(), { timeout: UI_TIMEOUT_MS }).toBe(attemptsMade);
    expect(await rows.last().getByRole('rowheader').textContent()).toBe(`#${firstEventId}`);
    expect(await rows.last().getByRole('cell').first().textContent()).toBe('1');
    expect(await card.getByRole('button', { name: 'Show older attempts' }).count()).toBe(0);

    // Deleted after a confirmation.
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('button', { name: `Confirm deletion of ${receiver.url}` }).click();
    await page.getByText('No endpoints yet.').waitFor();
    const list = ok(await gw.gql<{ organization: { webhookEndpoints: unknown[] } }>(`query($o: ID!) { organization(id: $o) { webhookEndpoints { id } } }`, { o: acme.orgId }, acme.token));
    expect(list.organization.webhookEndpoints).toEqual([]);
  });

  it('shows failed attempts with their answer, and an endpoint the gateway disabled with the reason; enabled again, it delivers', async () => {
    const { page } = admin;
    onTestFinished(() => {
      clock.offsetMs = 0;
    });
    failingReceiver.respond = () => 503;
    await lastEventId(gw);
    await page.getByLabel('Endpoint URL').fill(failingReceiver.url);
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByRole('textbox', { name: 'Signing secret' }).waitFor();
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const card = page.getByRole('region', { name: failingReceiver.url });
    const endpointId = (await card.getAttribute('data-testid'))!.replace('endpoint-', '');

    await stage('kim@acme.test');
    await waitFor('a failed attempt', () => failingReceiver.received.length >= 1, DELIVERY_TIMEOUT_MS);
    const eventId = failingReceiver.received[0]!.id;
    await card.getByRole('button', { name: 'Show deliveries' }).click();
    const attempts = card.getByRole('table', { name: 'Recent deliveries' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: `#${eventId}`, exact: true }) });
    await expect.poll(() => attempts.count(), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(0);
    const cells = await attempts.last().getByRole('cell').allTextContents();
    expect(cells.slice(0, 3)).toEqual(['1', 'Failed', '503']);
    await expect.poll(() => card.getByTestId('endpoint-state').locator('..').textContent(), { timeout: UI_TIMEOUT_MS }).toMatch(/failing since .*; next attempt/);

    // A day of failures later the gateway disables it; the page says why.
    const [row] = await rows<{ failing_since: string | Date }>(gw, 'select failing_since from webhook_endpoints where id = ?', [endpointId]);
    clock.offsetMs += new Date(row!.failing_since).getTime() + 24 * 3600_000 - clock.now().getTime();
    await skipBackoff(gw, clock, endpointId);
    await expect.poll(() => card.getByTestId('endpoint-state').textContent(), { timeout: DELIVERY_TIMEOUT_MS }).toBe('disabled');
    const state = await card.getByTestId('endpoint-state').locator('..').textContent();
    expect(state).toContain(`event ${eventId} could not be delivered for 24 hours`);
    expect(state).toContain('503');
    await expectAccessible(page);

    // Enabled again, it resumes with that event.
    failingReceiver.respond = () => 200;
    await card.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => card.getByTestId('endpoint-state').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('enabled');
    await expect.poll(async () => (await attempts.first().getByRole('cell').allTextContents()).slice(1, 3), { timeout: DELIVERY_TIMEOUT_MS }).toEqual(['Succeeded', '200']);
    expect(failingReceiver.received.at(-1)!.id).toBe(eventId);

    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('button', { name: `Confirm deletion of ${failingReceiver.url}` }).click();
    await page.getByText('No endpoints yet.').waitFor();
  });

  it('shows the audit log oldest first, filtered by type and by member, paged with "load more"', async () => {
    const { page } = admin;
    // Enough events for a few pages of 10: members staged, roles and statuses changed, one removed.
    const frank = await stage('frank@acme.test');
    for (const role of ['VIEWER', 'MEMBER', 'ADMIN', 'VIEWER', 'MEMBER', 'VIEWER']) await setRole(frank, role);
    ok(await gw.gql(SET_STATUS, { o: acme.orgId, u: frank, s: 'DISABLED' }, acme.token));
    for (const name of ['hank', 'ivy', 'jack']) await stage(`${name}@acme.test`);
    const gina = await stage('gina@acme.test', 'VIEWER');
    ok(await gw.gql(REMOVE, { o: acme.orgId, u: gina }, acme.token));

    await consoleSection(page, 'Audit log', /Audit log of Acme/);
    // An event shows once every older transaction in the cluster has ended: refresh until the last one made here is in.
    const left = page.locator('table.events tbody tr').filter({ hasText: 'Left' });
    await refreshUntilShown(page, left);
    const frankRow = page.locator('table.events tbody tr').filter({ hasText: 'frank@acme.test' }).filter({ hasText: 'Status changed' });
    expect(await frankRow.textContent()).toContain('Status: Staged → Disabled');
    expect(await frankRow.textContent()).toContain(`${ADMIN}user:${acme.userId}`);
    const ids = await shownEventIds(page);
    expect(ids.length).toBeGreaterThan(20);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // Gina left: her events name her by id, and her last one says what she was.
    expect(await left.textContent()).toContain(gina);
    expect(await left.textContent()).toContain('Was Viewer');
    await expectAccessible(page);

    // By type: role changes only.
    const types = page.getByRole('group', { name: 'Event types' });
    for (const type of ['Joined', 'Status changed', 'Teams changed', 'Left']) await types.getByLabel(type).uncheck();
    await expect.poll(async () => new Set(await shownColumn(page, 2)), { timeout: UI_TIMEOUT_MS }).toEqual(new Set(['Role changed']));
    expect(await page.getByText('Role: Admin → Viewer').count()).toBe(1);

    // And by member: frank's role changes (six made here).
    await page.getByLabel('Member').selectOption({ label: 'frank@acme.test' });
    await expect.poll(async () => await shownColumn(page, 3), { timeout: UI_TIMEOUT_MS }).toEqual(Array(6).fill('frank@acme.test'));
    // Nothing matches: said so.
    await types.getByLabel('Role changed').uncheck();
    await types.getByLabel('Left').check();
    await page.getByText('No events match these filters.').waitFor();

    // Paged by 10 over every event: "load more" appends the next page after the last one shown.
    await page.getByLabel('Member').selectOption({ label: 'All members' });
    for (const type of ['Joined', 'Role changed', 'Status changed', 'Teams changed']) await types.getByLabel(type).check();
    await page.getByLabel('Events per page').selectOption('10');
    // Compared with the ids themselves: a list read under a filter ticked on the way also has pages of 10.
    await expect.poll(() => shownEventIds(page), { timeout: UI_TIMEOUT_MS }).toEqual(ids.slice(0, 10));
    await expectAccessible(page);
    await screenshot(page, 'console-audit-log');
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => shownEventIds(page), { timeout: UI_TIMEOUT_MS }).toEqual(ids.slice(0, 20));
    while ((await page.getByRole('button', { name: 'Load more' }).count()) > 0) {
      const shown = (await shownEventIds(page)).length;
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(async () => (await shownEventIds(page)).length, { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(shown);
    }
    const all = await shownEventIds(page);
    expect(all.slice(0, ids.length)).toEqual(ids);
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(new Set(all).size).toBe(all.length);
    await expectAccessible(page);

    // Signed out elsewhere: the page says what the server said, not a stack.
    const session = (await admin.context.cookies(origin)).find((c) => c.name === 'orgway_session')!.value;
    ok(await gw.gql(`mutation { signOut }`, {}, session));
    await page.getByRole('button', { name: 'Refresh' }).click();
    const refused = page.getByRole('alert').filter({ hasText: 'The audit log could not be read:' });
    await refused.waitFor();
    expect(await refused.textContent()).toContain('Sign in first');
    expect(await refused.textContent()).not.toMatch(/\bat .*\.(js|ts):\d+/);
  });

  it('made no request to any host but the gateway', () => {
    expect(admin.requests.length).toBeGreaterThan(0);
    expect(foreignRequests(admin.requests, origin)).toEqual([]);
  });
});
