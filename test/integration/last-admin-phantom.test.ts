/**
 * SPEC §6: an organization keeps at least one ACTIVE ORG_ADMIN. An ORG_ADMIN who is STAGED or
 * INVITED has never signed in and keeps nobody in charge, so with only such "phantom" admins
 * left, demoting, disabling or removing the ACTIVE one is refused with CONFLICT — through
 * GraphQL and through SCIM alike — and nothing changes.
 */
import { describe, expect, test } from 'vitest';
import { SCIM_TABLES, snapshot } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { expectScimError, patchOp, scimClient, type ScimClient, USER } from '../kit/scim.js';
import { addMember, type Admin, type Member, membershipRow, ok, REMOVE, refusedUnchanged, SET_ROLE, SET_STATUS, SWITCH } from '../kit/world.js';

const gw = useGateway();

/** An organization whose only other ORG_ADMINs are phantoms (STAGED and INVITED), with a SCIM client. */
const phantomOrg = async (): Promise<{ a: Admin; staged: Member; invited: Member; scim: ScimClient }> => {
  const a = await gw.bootstrap();
  const staged = await addMember(gw, a, 'ORG_ADMIN', 'STAGED');
  const invited = await addMember(gw, a, 'ORG_ADMIN', 'INVITED');
  expect(await membershipRow(gw, a.orgId, staged.userId)).toMatchObject({ role: 'ORG_ADMIN', status: 'STAGED' });
  expect(await membershipRow(gw, a.orgId, invited.userId)).toMatchObject({ role: 'ORG_ADMIN', status: 'INVITED' });
  const scim = await scimClient(gw, a);
  return { a, staged, invited, scim };
};

describe('the last ACTIVE ORG_ADMIN, with STAGED and INVITED ORG_ADMINs beside it', () => {
  test('GraphQL: demoting (to every lower role), disabling and removing it are CONFLICT, nothing changed', async () => {
    const { a } = await phantomOrg();
    for (const r of ['ADMIN', 'MEMBER', 'VIEWER', 'NO_ACCESS']) {
      const e = await refusedUnchanged(gw, 'CONFLICT', () => gw.gql(SET_ROLE, { o: a.orgId, u: a.userId, r }, a.token));
      expect(e.message).toContain('without an ORG_ADMIN');
    }
    await refusedUnchanged(gw, 'CONFLICT', () => gw.gql(SET_STATUS, { o: a.orgId, u: a.userId, s: 'DISABLED' }, a.token));
    await refusedUnchanged(gw, 'CONFLICT', () => gw.gql(REMOVE, { o: a.orgId, u: a.userId }, a.token));
    expect(await membershipRow(gw, a.orgId, a.userId)).toMatchObject({ role: 'ORG_ADMIN', status: 'ACTIVE' });
  });

  test('SCIM: DELETE /Users/{id}, PATCH active false and PUT active false are 409, nothing changed', async () => {
    const { a, scim } = await phantomOrg();
    const before = await snapshot(gw, SCIM_TABLES);
    const del = await scim.del(`/Users/${a.userId}`);
    expectScimError(del, 409, null);
    expect(del.body.detail).toMatch(/ORG_ADMIN/);
    const off = await scim.patch(`/Users/${a.userId}`, patchOp({ op: 'replace', path: 'active', value: false }));
    expectScimError(off, 409, null);
    expect(off.body.detail).toMatch(/ORG_ADMIN/);
    const offAsString = await scim.patch(`/Users/${a.userId}`, patchOp({ op: 'Replace', value: { active: 'False' } }));
    expectScimError(offAsString, 409, null);
    const current = await scim.get(`/Users/${a.userId}`);
    expect(current.status, current.text).toBe(200);
    const put = await scim.put(`/Users/${a.userId}`, { ...current.body, schemas: [USER], active: false });
    expectScimError(put, 409, null);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
    expect(await membershipRow(gw, a.orgId, a.userId)).toMatchObject({ role: 'ORG_ADMIN', status: 'ACTIVE' });
  });

  test('the phantoms themselves may be demoted, disabled and removed (they keep nobody in charge)', async () => {
    const { a, staged, invited, scim } = await phantomOrg();
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: staged.userId, r: 'MEMBER' }, a.token));
    ok(await gw.gql(SET_STATUS, { o: a.orgId, u: invited.userId, s: 'DISABLED' }, a.token));
    expect((await scim.del(`/Users/${staged.userId}`)).status).toBe(204);
    ok(await gw.gql(REMOVE, { o: a.orgId, u: invited.userId }, a.token));
  });

  test('once a phantom signs in (becomes ACTIVE), the first admin may step down', async () => {
    const { a, staged } = await phantomOrg();
    ok(await gw.gql(SWITCH, { o: a.orgId }, staged.token));
    expect(await membershipRow(gw, a.orgId, staged.userId)).toMatchObject({ role: 'ORG_ADMIN', status: 'ACTIVE' });
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: a.userId, r: 'MEMBER' }, a.token));
    // Now the one who signed in is the last ACTIVE ORG_ADMIN (the INVITED one still does not count).
    await refusedUnchanged(gw, 'CONFLICT', () => gw.gql(REMOVE, { o: a.orgId, u: staged.userId }, staged.token));
  });

  test('a DISABLED ORG_ADMIN re-staged by SCIM (active: true → STAGED) does not count either', async () => {
    const { a, scim } = await phantomOrg();
    const other = await addMember(gw, a, 'ORG_ADMIN', 'DISABLED');
    const on = await scim.patch(`/Users/${other.userId}`, patchOp({ op: 'replace', path: 'active', value: true }));
    expect(on.status, on.text).toBe(200);
    expect(await membershipRow(gw, a.orgId, other.userId)).toMatchObject({ role: 'ORG_ADMIN', status: 'STAGED' });
    const before = await snapshot(gw, SCIM_TABLES);
    expectScimError(await scim.del(`/Users/${a.userId}`), 409, null);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });
});
