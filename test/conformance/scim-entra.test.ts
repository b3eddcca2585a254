/**
 * Microsoft Entra ID's documented SCIM request sequence (test/fixtures/scim/entra.json,
 * sources cited there), including its known quirks, replayed over HTTP against a real gateway.
 */
import { expect, test } from 'vitest';
import { rows } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { events, newUser, scimClient } from '../kit/scim.js';
import { loadRecording, replay } from '../kit/scim-replay.js';

const gw = useGateway();

const row = async (orgId: string, userId: string) =>
  (
    await rows<{ status: string; email: string; display_name: string }>(gw,
        'select m.status, u.email, u.display_name from memberships m join users u on u.id = m.user_id where m.organization_id = ? and m.user_id = ?',
        [orgId, userId],
      )
  )[0];

test('the Entra sequence: users, quirks, groups, deletes', async () => {
  const c = await scimClient(gw);
  const disabled = async (_r: unknown, v: Record<string, string>) => expect((await row(c.orgId, v.userId!))!.status).toBe('DISABLED');
  const vars = await replay(c, loadRecording('entra'), {
    'Create User': async (_r, v) =>
      expect(await row(c.orgId, v.userId!)).toMatchObject({ status: 'STAGED', email: 'test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com', display_name: 'givenName familyName' }),
    'Update User [Multi-valued properties]': async (_r, v) => expect((await row(c.orgId, v.userId!))!.email).toBe('updatedemail@microsoft.com'),
    'replace several attributes in one path-less operation (aadOptscim062020)': async (_r, v) =>
      expect(await row(c.orgId, v.userId!)).toMatchObject({ email: 'paul.valentine@microsoft.com', display_name: 'Pvl' }),
    'Disable User ("active": "False" as sent without aadOptscim062020)': disabled,
    'Disable User': disabled,
    'enable again ("True")': async (_r, v) => expect((await row(c.orgId, v.userId!))!.status).toBe('STAGED'),
  });
  // The user belonged to this organization only: DELETE removed the identity too.
  expect(await rows(gw, 'select id from users where id = ?', [vars.userId])).toEqual([]);
  const ev = (await events(gw, c.orgId)).filter((e) => e.user_id === vars.userId);
  // The add-then-remove PATCH nets out: one transaction, no change, no event.
  expect(ev.map((e) => e.type)).toEqual(['JOINED', 'STATUS_CHANGED', 'STATUS_CHANGED', 'STATUS_CHANGED', 'TEAMS_CHANGED', 'TEAMS_CHANGED', 'LEFT']);
  expect(ev.every((e) => e.actor === `scim:${c.tokenId}`)).toBe(true);
});

test('Entra paging through all users (startIndex/count) and its userName probe per user', async () => {
  const c = await scimClient(gw);
  const names: string[] = [];
  for (let i = 0; i < 9; i++) {
    const userName = `entra-${i}@contoso.onmicrosoft.com`;
    const probe = await c.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    expect(probe.body.totalResults).toBe(0);
    expect((await c.post('/Users', newUser(`mail${i}@contoso.com`, { userName }))).status).toBe(201);
    names.push(userName);
  }
  const seen: string[] = [];
  for (let start = 1; ; start += 4) {
    const r = await c.get(`/Users?startIndex=${start}&count=4`);
    if (r.body.Resources.length === 0) break;
    seen.push(...r.body.Resources.map((u: { userName: string }) => u.userName));
  }
  expect(seen).toHaveLength(10);
  expect(seen).toEqual(expect.arrayContaining(names));
});
