/**
 * What the console's SSO page reads: Organization.trustedSamlConnectionIds (which of the listed
 * connections the organization actually trusts; an owned one can be untrusted) and
 * samlConnections(owned:) (so the failures of its own connections can be read without the
 * refusal for a trusted foreign one voiding the list), for ORG_ADMINs only.
 */
import { describe, expect, it } from 'vitest';
import { useSamlWorld } from '../kit/saml-world.js';
import { addMember, ok, refused } from '../kit/world.js';

const TRUSTED = `query($o: ID!) { organization(id: $o) { trustedSamlConnectionIds samlConnections { id } } }`;
const UNTRUST = `mutation($o: ID!, $c: ID!) { untrustSamlConnection(organizationId: $o, connectionId: $c) }`;

const w = useSamlWorld();

type Trusted = { organization: { trustedSamlConnectionIds: string[]; samlConnections: { id: string }[] } | null };

describe('Organization.trustedSamlConnectionIds', () => {
  it('lists the trusted connections; an untrusted owned connection stays listed but not trusted', async () => {
    const owner = { orgId: w.owner.orgId, token: w.owner.adminToken };
    expect(ok(await w.gw.gql<Trusted>(TRUSTED, { o: owner.orgId }, owner.token)).organization).toEqual({
      trustedSamlConnectionIds: [w.connectionId],
      samlConnections: [{ id: w.connectionId }],
    });
    ok(await w.gw.gql(UNTRUST, { o: owner.orgId, c: w.connectionId }, owner.token));
    expect(ok(await w.gw.gql<Trusted>(TRUSTED, { o: owner.orgId }, owner.token)).organization).toEqual({
      trustedSamlConnectionIds: [],
      samlConnections: [{ id: w.connectionId }],
    });
    const other = await w.org();
    expect(ok(await w.gw.gql<Trusted>(TRUSTED, { o: other.orgId }, other.adminToken)).organization!.trustedSamlConnectionIds).toEqual([w.connectionId]);
  });

  it('samlConnections(owned:) splits owned from trusted-only connections; the failures of the owned ones are readable', async () => {
    const other = await w.org();
    const all = ok(await w.gw.gql<any>(`query($o: ID!) { organization(id: $o) { samlConnections { id } } }`, { o: other.orgId }, other.adminToken));
    expect(all.organization.samlConnections).toEqual([{ id: w.connectionId }]);
    const split = ok(
      await w.gw.gql<any>(`query($o: ID!) { organization(id: $o) { owned: samlConnections(owned: true) { id } foreign: samlConnections(owned: false) { id } } }`, { o: other.orgId }, other.adminToken),
    );
    expect(split.organization).toEqual({ owned: [], foreign: [{ id: w.connectionId }] });
    const failures = ok(
      await w.gw.gql<any>(`query($o: ID!) { organization(id: $o) { samlConnections(owned: true) { id recentSignInFailures { code } } } }`, { o: w.owner.orgId }, w.owner.adminToken),
    );
    expect(failures.organization.samlConnections).toEqual([{ id: w.connectionId, recentSignInFailures: [] }]);
    // Read through the trusting organization, the same field is refused for the foreign connection.
    const refusedRead = await w.gw.gql(`query($o: ID!) { organization(id: $o) { samlConnections { recentSignInFailures { code } } } }`, { o: other.orgId }, other.adminToken);
    expect(refused(refusedRead).code).toBe('FORBIDDEN');
  });

  it('is refused to members who are not ORG_ADMIN, and a non-member sees no organization', async () => {
    const org = await w.org();
    const member = await addMember(w.gw, { orgId: org.orgId, token: org.adminToken }, 'MEMBER');
    const r = await w.gw.gql(`query($o: ID!) { organization(id: $o) { trustedSamlConnectionIds } }`, { o: org.orgId }, member.token);
    expect(refused(r).code).toBe('FORBIDDEN');
    const outsider = await w.org();
    const r2 = await w.gw.gql<Trusted>(TRUSTED, { o: org.orgId }, outsider.adminToken);
    expect(r2.errors).toBeUndefined();
    expect(r2.data?.organization).toBeNull();
  });
});
