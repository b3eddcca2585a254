/**
 * Subscribers with the same document share one execution per event (register.ts), but
 * only when the document reads nothing viewer-dependent: `membership` is per viewer.
 */
import { expect, test } from 'vitest';
import { take, useGateway } from '../kit/gateway.js';
import { addMember, ok, SET_ROLE } from '../kit/world.js';

const WITH_MEMBERSHIP = `subscription($o: ID) { membershipChanged(organizationId: $o) { id type userId role membership { role } } }`;
const PLAIN = `subscription($o: ID) { membershipChanged(organizationId: $o) { id type userId role } }`;

const gw = useGateway();

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

test('each subscriber gets exactly the message graphql-ws would write, and the result of its own document (several subscriptions on one socket, two documents with the same variables, an alias that looks like the stand-in)', async () => {
  const admin = await gw.bootstrap('Shared Bytes');
  const member = await addMember(gw, admin, 'MEMBER');
  const { WebSocket } = await import('ws');
  const socket = new WebSocket(`${gw.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  const raw: string[] = [];
  socket.on('message', (data) => raw.push(String(data)));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${admin.token}` } }));
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 25));
  };
  await until(() => raw.length > 0);
  expect(JSON.parse(raw[0]!)).toEqual({ type: 'connection_ack' });
  const TRICKY = `subscription($o: ID) { membershipChanged(organizationId: $o) { __orgwaySharedPayload: type role } }`;
  const ids = ['1', 'two "quoted" \\ id', '3'];
  const documents = [PLAIN, PLAIN, TRICKY];
  ids.forEach((id, i) => socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: documents[i], variables: { o: admin.orgId } } })));
  await new Promise((r) => setTimeout(r, 500));
  ok(await gw.gql(SET_ROLE, { o: admin.orgId, u: member.userId, r: 'ADMIN' }, admin.token));
  await until(() => raw.length >= 4);
  socket.close();
  const next = raw.slice(1);
  expect(next).toHaveLength(3);
  for (const message of next) {
    const parsed = JSON.parse(message) as { id: string; payload: { data: { membershipChanged: Record<string, unknown> } } };
    // graphql-ws writes JSON.stringify({ id, type, payload }): the same text, key for key.
    expect(message).toBe(JSON.stringify({ id: parsed.id, type: 'next', payload: parsed.payload }));
  }
  const byId = new Map(next.map((m) => [JSON.parse(m).id as string, JSON.parse(m).payload.data.membershipChanged]));
  expect([...byId.keys()].sort()).toEqual([...ids].sort());
  expect(byId.get('1')).toMatchObject({ type: 'ROLE_CHANGED', userId: member.userId, role: 'ADMIN' });
  expect(byId.get(ids[1]!)).toEqual(byId.get('1'));
  expect(byId.get('3')).toEqual({ __orgwaySharedPayload: 'ROLE_CHANGED', role: 'ADMIN' });
});
