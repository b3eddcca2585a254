/**
 * Okta's documented SCIM 2.0 request sequence (test/fixtures/scim/okta.json, sources
 * cited there) replayed over HTTP against a real gateway, plus paging through all users.
 */
import { expect, test } from 'vitest';
import { rows } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { events, newUser, scimClient } from '../kit/scim.js';
import { loadRecording, replay } from '../kit/scim-replay.js';

const gw = useGateway();

const statusOf = async (orgId: string, userId: string) =>
  (await rows<{ status: string }>(gw, 'select status from memberships where organization_id = ? and user_id = ?', [orgId, userId]))[0]?.status;

test('the Okta sequence: create, retrieve, PUT, password PATCH, deactivate/reactivate, group push, delete group', async () => {
  const c = await scimClient(gw);
  const recording = loadRecording('okta');
  expect(recording.sources.length).toBeGreaterThan(0);
  const vars = await replay(c, recording, {
    'create: POST /Users': async (_r, v) => expect(await statusOf(c.orgId, v.userId!)).toBe('STAGED'),
    'deactivate: PATCH active false without path': async (_r, v) => expect(await statusOf(c.orgId, v.userId!)).toBe('DISABLED'),
    'reactivate: PATCH active true without path': async (_r, v) => expect(await statusOf(c.orgId, v.userId!)).toBe('STAGED'),
  });
  // Okta's generated password is never kept.
  const found = await rows<{ attributes: unknown }>(gw, 'select attributes from scim_users where organization_id = ?', [c.orgId]);
  expect(JSON.stringify(found)).not.toMatch(/password|1mz050nq|OktaPassword1234/i);
  const ev = (await events(gw, c.orgId)).filter((e) => e.user_id === vars.userId);
  expect(ev.map((e) => e.type)).toEqual(['JOINED', 'STATUS_CHANGED', 'STATUS_CHANGED', 'TEAMS_CHANGED', 'TEAMS_CHANGED']);
  expect(ev.every((e) => e.actor === `scim:${c.tokenId}`)).toBe(true);
});

test('Okta import: paging through all users with startIndex/count until totalResults', async () => {
  const c = await scimClient(gw);
  for (let i = 0; i < 11; i++) expect((await c.post('/Users', newUser(`import${i}@okta.local`))).status).toBe(201);
  const seen = new Set<string>();
  let startIndex = 1;
  let total = Infinity;
  while (startIndex <= total) {
    const r = await c.get(`/Users?startIndex=${startIndex}&count=5`);
    expect(r.status).toBe(200);
    total = r.body.totalResults;
    for (const u of r.body.Resources) seen.add(u.id);
    startIndex += r.body.itemsPerPage;
    if (r.body.itemsPerPage === 0) break;
  }
  expect(total).toBe(12);
  expect(seen.size).toBe(12);
});
