/**
 * The SSO sign-in's membership rules as a pure plan: state and assertion in, named changes
 * and the landing out, without a database.
 */
import { describe, expect, test } from 'vitest';
import type { OrganizationRole } from '../../src/domain/model/index.js';
import { type AcceptingOrganization, type PlannedMembership, planSignIn, type SignInPlanInput } from '../../src/domain/saml-sign-in/plan.js';

const org = (id: string, automaticAccess: Partial<AcceptingOrganization['automaticAccess']> = {}): AcceptingOrganization => ({
  id,
  name: `Org ${id}`,
  automaticAccess: { enabled: false, defaultRole: 'MEMBER', allowedDomains: [], ...automaticAccess },
});

const membership = (organizationId: string, over: Partial<PlannedMembership> = {}): PlannedMembership => ({
  id: `mem_${organizationId}`,
  organizationId,
  organizationName: `Org ${organizationId}`,
  trusts: true,
  role: 'MEMBER',
  status: 'ACTIVE',
  source: 'SAML',
  ...over,
});

const input = (over: Partial<SignInPlanInput>): SignInPlanInput => ({
  email: 'ann@example.com',
  connectionId: 'scn_1',
  orgAndRolePresent: false,
  orgRoles: new Map(),
  groups: new Map(),
  roleAttribute: null,
  step2: null,
  relayState: null,
  lastVisitedOrganizationId: null,
  memberships: [],
  accepting: [],
  teams: [],
  teamMembers: [],
  ...over,
});

const roles = (entries: [string, OrganizationRole][]) => new Map(entries);

describe('step 1: OrgAndRole', () => {
  test('joins named organizations, re-roles existing ones (source SAML), demotes SAML memberships no longer named, leaves ORG_ADMIN alone', () => {
    const plan = planSignIn(
      input({
        orgAndRolePresent: true,
        orgRoles: roles([
          ['a', 'ADMIN'],
          ['b', 'VIEWER'],
          ['d', 'VIEWER'],
        ]),
        memberships: [membership('b', { source: 'MANUAL' }), membership('c'), membership('d', { role: 'ORG_ADMIN' }), membership('e', { role: 'ORG_ADMIN' })],
        accepting: [org('a'), org('b'), org('c'), org('d'), org('e')],
      }),
    );
    expect(plan.changes).toEqual([
      { kind: 'JOIN', organizationId: 'a', role: 'ADMIN', source: 'SAML' },
      { kind: 'ASSERT_ROLE', organizationId: 'b', role: 'VIEWER' },
      { kind: 'DEMOTE_NO_ACCESS', organizationId: 'c' },
    ]);
    expect(plan.inScope.find((m) => m.organizationId === 'd')?.role).toBe('ORG_ADMIN');
  });

  test('an organization that does not accept the connection is UNKNOWN_ORGANIZATION, and nothing is planned', () => {
    expect(() => planSignIn(input({ orgAndRolePresent: true, orgRoles: roles([['x', 'MEMBER']]), accepting: [org('a')] }))).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_ORGANIZATION' }),
    );
  });

  test('a SAML membership in an organization that no longer accepts the connection is neither demoted nor a landing', () => {
    const plan = planSignIn(input({ orgAndRolePresent: true, orgRoles: roles([['a', 'MEMBER']]), memberships: [membership('z', { trusts: false })], accepting: [org('a')] }));
    expect(plan.changes).toEqual([{ kind: 'JOIN', organizationId: 'a', role: 'MEMBER', source: 'SAML' }]);
    expect(plan.inScope.map((m) => m.organizationId)).toEqual(['a']);
    expect(plan.landing).toEqual({ rule: 'FIRST_BY_NAME', organizationId: 'a' });
  });
});

describe('step 2: RelayState and Role', () => {
  test('joins the RelayState organization with the Role, or its automatic-access default role without one', () => {
    const withRole = planSignIn(input({ step2: { organizationId: 'a', namedBy: 'The RelayState' }, relayState: 'a', roleAttribute: 'ADMIN', accepting: [org('a')] }));
    expect(withRole.changes).toEqual([{ kind: 'JOIN', organizationId: 'a', role: 'ADMIN', source: 'SAML' }]);
    expect(withRole.landing).toEqual({ rule: 'RELAY_STATE', organizationId: 'a' });
    const without = planSignIn(input({ step2: { organizationId: 'a', namedBy: 'The RelayState' }, accepting: [org('a', { defaultRole: 'VIEWER' })] }));
    expect(without.changes).toEqual([{ kind: 'JOIN', organizationId: 'a', role: 'VIEWER', source: 'SAML' }]);
  });

  test('an asserted STAGED or INVITED membership becomes ACTIVE, a DISABLED one stays DISABLED and cannot be a landing', () => {
    for (const status of ['STAGED', 'INVITED'] as const) {
      const plan = planSignIn(input({ step2: { organizationId: 'a', namedBy: 'The RelayState' }, memberships: [membership('a', { status })], accepting: [org('a')] }));
      expect(plan.changes).toEqual([{ kind: 'ACTIVATE', organizationId: 'a', status: 'ACTIVE' }]);
    }
    const disabled = planSignIn(
      input({ step2: { organizationId: 'a', namedBy: 'The RelayState' }, roleAttribute: 'ADMIN', memberships: [membership('a', { status: 'DISABLED' })], accepting: [org('a')] }),
    );
    expect(disabled.changes).toEqual([{ kind: 'ASSERT_ROLE', organizationId: 'a', role: 'ADMIN' }]);
    expect(disabled.landing).toEqual({ rule: 'NONE', organizationId: null });
  });

  test("the step's organization that does not accept the connection is refused naming where it came from", () => {
    expect(() => planSignIn(input({ step2: { organizationId: 'x', namedBy: "The connection's default organization" }, accepting: [] }))).toThrow(
      /The connection's default organization names organization "x"/,
    );
  });
});

describe('step 3: automatic user access', () => {
  test('joins accepting organizations whose automatic access admits the email (JIT, default role), in id order', () => {
    const plan = planSignIn(
      input({
        accepting: [org('b', { enabled: true, defaultRole: 'VIEWER' }), org('a', { enabled: true, allowedDomains: ['example.com'] }), org('c', { enabled: true, allowedDomains: ['other.example'] }), org('d')],
      }),
    );
    expect(plan.changes).toEqual([
      { kind: 'JOIN', organizationId: 'a', role: 'MEMBER', source: 'JIT' },
      { kind: 'JOIN', organizationId: 'b', role: 'VIEWER', source: 'JIT' },
    ]);
  });
});

describe('step 4: OrgAndUserGroups', () => {
  const teams = [
    { key: 'k1', organizationId: 'a', teamId: 'red' },
    { key: 'k2', organizationId: 'a', teamId: 'blue' },
  ];
  test('adds the named teams and removes SAML-sourced teams no longer named; teams from elsewhere stay', () => {
    const plan = planSignIn(
      input({
        orgAndRolePresent: true,
        orgRoles: roles([['a', 'MEMBER']]),
        groups: new Map([['a', new Set(['red'])]]),
        memberships: [membership('a')],
        accepting: [org('a')],
        teams,
        teamMembers: [
          { membershipId: 'mem_a', teamKey: 'k2', source: 'SAML' },
          { membershipId: 'mem_a', teamKey: 'k3', source: 'MANUAL' },
        ],
      }),
    );
    expect(plan.changes).toEqual([{ kind: 'SET_TEAMS', organizationId: 'a', add: [teams[0]], removeTeamKeys: ['k2'] }]);
  });

  test('an unknown team is UNKNOWN_TEAM; an organization without a membership is INVALID_ATTRIBUTE', () => {
    expect(() => planSignIn(input({ groups: new Map([['a', new Set(['green'])]]), memberships: [membership('a')], accepting: [org('a')], teams }))).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_TEAM' }),
    );
    expect(() => planSignIn(input({ groups: new Map([['a', new Set(['red'])]]), accepting: [org('a')], teams }))).toThrow(expect.objectContaining({ code: 'INVALID_ATTRIBUTE' }));
  });
});

describe('step 6: landing', () => {
  test('the last visited organization when no RelayState names one; nothing to enter is NONE', () => {
    const plan = planSignIn(input({ memberships: [membership('a'), membership('b')], accepting: [org('a'), org('b')], lastVisitedOrganizationId: 'b' }));
    expect(plan.changes).toEqual([]);
    expect(plan.landing).toEqual({ rule: 'LAST_VISITED', organizationId: 'b' });
    expect(planSignIn(input({ memberships: [membership('a', { role: 'NO_ACCESS' })], accepting: [org('a')] })).landing.rule).toBe('NONE');
  });
});
