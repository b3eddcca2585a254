/**
 * Subscribers with the same document share one execution per event (register.ts), but
 * only when the document reads nothing viewer-dependent: `membership` is per viewer.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Gateway, startGateway, take } from '../helpers/gateway.js';
import { addMember, ok, SET_ROLE } from '../helpers/world.js';

const WITH_MEMBERSHIP = `subscription($o: ID) { membershipChanged(organizationId: $o) { id type userId role membership { role } } }`;
const PLAIN = `subscription($o: ID) { membershipChanged(organizationId: $o) { id type userId role } }`;

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

test('a viewer-dependent field is resolved per subscriber; a plain document gives everyone the same payload', async () => {
  const admin = await gw.bootstrap('Shared Results');
  const member = await addMember(gw, admin, 'MEMBER');
  const other = await addMember(gw, admin, 'VIEWER');

  const subs = [
    take<any>(gw.ws(member.token), WITH_MEMBERSHIP, { o: admin.orgId }, 1),
    take<any>(gw.ws(other.token), WITH_MEMBERSHIP, { o: admin.orgId }, 1),
    take<any>(gw.ws(admin.token), WITH_MEMBERSHIP, { o: admin.orgId }, 1),
    take<any>(gw.ws(member.token), PLAIN, { o: admin.orgId }, 1),
    take<any>(gw.ws(other.token), PLAIN, { o: admin.orgId }, 1),
  ];
  // Let every subscription register before the change.
  await new Promise((r) => setTimeout(r, 500));
  ok(await gw.gql(SET_ROLE, { o: admin.orgId, u: member.userId, r: 'ADMIN' }, admin.token));
  await Promise.all(subs.map((s) => s.done));
  for (const s of subs) expect(s.errors).toEqual([]);
  const [mine, othersView, adminsView, plainA, plainB] = subs.map((s) => s.values[0]!.membershipChanged);
  expect(mine.membership).toEqual({ role: 'ADMIN' });
  // The same event seen by other users: never someone else's membership.
  expect(othersView.membership).toBeNull();
  expect(adminsView.membership).toBeNull();
  expect(plainA).toEqual(plainB);
  expect(plainA).toMatchObject({ type: 'ROLE_CHANGED', userId: member.userId, role: 'ADMIN' });
  for (const s of subs) s.unsubscribe();
});
