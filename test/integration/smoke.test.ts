import { expect, test } from 'vitest';
import { useGateway } from '../kit/gateway.js';

const gw = useGateway();

test('viewer after bootstrap', async () => {
  const a = await gw.bootstrap('Acme');
  const r = await gw.gql<any>(`{ viewer { user { id email } organizations { totalCount edges { cursor node { id name teams { id } } membership { role status permissions teams { id } } } } } }`, {}, a.token);
  expect(r.errors).toBeUndefined();
  expect(r.data.viewer.user.id).toBe(a.userId);
  expect(r.data.viewer.organizations.totalCount).toBe(1);
  expect(r.data.viewer.organizations.edges[0].membership.role).toBe('ORG_ADMIN');
  const s = await gw.gql<any>(`mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken { token organizationId } membership { status } viewer { currentOrganization { id } } } }`, { o: a.orgId }, a.token);
  expect(s.errors).toBeUndefined();
  expect(s.data.switchOrganization.viewer.currentOrganization.id).toBe(a.orgId);
  const unauth = await gw.gql<any>(`{ viewer { user { id } } }`);
  expect(unauth.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
});
