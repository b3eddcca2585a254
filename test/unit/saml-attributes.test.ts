import { describe, expect, test } from 'vitest';
import { DomainError } from '../../src/domain/model/index.js';
import { parseOrgAndRole, parseOrgAndUserGroups, parseRoleAttribute } from '../../src/domain/saml-sign-in/attributes.js';
import { chooseLanding } from '../../src/domain/saml-sign-in/landing.js';
import { thrown } from '../kit/thrown.js';

const refusal = (fn: () => unknown): DomainError => thrown(DomainError, fn);

describe('OrgAndRole', () => {
  test('prefix before the first dash, role after the last, organization ids with dashes', () => {
    const m = parseOrgAndRole(['SPOTINST-act-12345678-ADMIN', 'SPOTINST-plain-VIEWER', 'SPOTINST-a--b-NO_ACCESS', 'SPOTINST-x_y-ADMIN'], 'SPOTINST');
    expect([...m]).toEqual([
      ['act-12345678', 'ADMIN'],
      ['plain', 'VIEWER'],
      ['a--b', 'NO_ACCESS'],
      ['x_y', 'ADMIN'],
    ]);
  });

  test('the same organization twice keeps the higher role, whatever the order', () => {
    expect(parseOrgAndRole(['SPOTINST-o-VIEWER', 'SPOTINST-o-ADMIN'], 'SPOTINST').get('o')).toBe('ADMIN');
    expect(parseOrgAndRole(['SPOTINST-o-ADMIN', 'SPOTINST-o-NO_ACCESS'], 'SPOTINST').get('o')).toBe('ADMIN');
    expect(parseOrgAndRole(['SPOTINST-o-NO_ACCESS', 'SPOTINST-o-VIEWER'], 'SPOTINST').get('o')).toBe('VIEWER');
  });

  test('values with another prefix are ignored, prefix compared exactly (case-sensitive)', () => {
    const m = parseOrgAndRole(['OTHER-o-ADMIN', 'spotinst-o-ADMIN', 'SPOTINSTX-o-ADMIN', 'SPOT-INST-o-ADMIN', 'garbage', ''], 'SPOTINST');
    expect(m.size).toBe(0);
  });

  test('a custom prefix', () => {
    expect([...parseOrgAndRole(['ACME-o-ADMIN', 'SPOTINST-p-ADMIN'], 'ACME')]).toEqual([['o', 'ADMIN']]);
  });

  test('surrounding whitespace is not part of a value', () => {
    expect([...parseOrgAndRole(['  SPOTINST-o-VIEWER\n'], 'SPOTINST')]).toEqual([['o', 'VIEWER']]);
  });

  test.each([
    ['SPOTINST', 'no organization and role'],
    ['SPOTINST-ADMIN', 'no organization and role'],
    ['SPOTINST--ADMIN', 'names no organization'],
    ['SPOTINST-org with space-ADMIN', 'not an organization id'],
    [`SPOTINST-${'o'.repeat(65)}-ADMIN`, 'not an organization id'],
  ])('malformed value with our prefix refuses: %s', (value, why) => {
    const e = refusal(() => parseOrgAndRole(['SPOTINST-ok-ADMIN', value], 'SPOTINST'));
    expect(e.code).toBe('INVALID_ATTRIBUTE');
    expect(e.message).toContain(`"${value.length > 200 ? value.slice(0, 200) : value}`);
    expect(e.message).toContain(why);
  });

  test.each(['admin', 'Admin', 'MEMBER', 'ORG_ADMIN', 'OWNER', ''])('unknown role "%s" refuses, exact case', (role) => {
    const e = refusal(() => parseOrgAndRole([`SPOTINST-o-${role}`], 'SPOTINST'));
    expect(e.code).toBe('INVALID_ATTRIBUTE');
    expect(e.message).toContain(`SPOTINST-o-${role}`);
    expect(e.message).toContain('ADMIN, VIEWER, NO_ACCESS');
  });
});

describe('OrgAndUserGroups', () => {
  test('teams per organization, several values merged, ids with dashes', () => {
    const m = parseOrgAndUserGroups(['SPOTINST-act-1:ugr-1a3a,ugr-2', 'SPOTINST-act-1:ugr-3', 'SPOTINST-b:team.x'], 'SPOTINST');
    expect([...m].map(([o, s]) => [o, [...s]])).toEqual([
      ['act-1', ['ugr-1a3a', 'ugr-2', 'ugr-3']],
      ['b', ['team.x']],
    ]);
  });

  test('other prefixes ignored; an empty list names the organization with no team', () => {
    const m = parseOrgAndUserGroups(['OTHER-a:ugr-1', 'SPOTINST-a:', 'SPOTINST-c: ugr-1 , ugr-2 '], 'SPOTINST');
    expect([...m].map(([o, s]) => [o, [...s]])).toEqual([
      ['a', []],
      ['c', ['ugr-1', 'ugr-2']],
    ]);
  });

  test.each([
    ['SPOTINST-a', 'is not a list of teams'],
    ['SPOTINST', 'is not a list of teams'],
    ['SPOTINST-:ugr-1', 'not an organization id'],
    ['SPOTINST-a b:ugr-1', 'not an organization id'],
    ['SPOTINST-a:ugr-1,,ugr-2', 'not a team id'],
    ['SPOTINST-a:ugr 1', 'not a team id'],
  ])('malformed value with our prefix refuses: %s', (value, why) => {
    const e = refusal(() => parseOrgAndUserGroups([value], 'SPOTINST'));
    expect(e.code).toBe('INVALID_ATTRIBUTE');
    expect(e.message).toContain(`"${value}"`);
    expect(e.message).toContain(why);
  });
});

describe('Role', () => {
  test('absent → null; several → highest; exact case', () => {
    expect(parseRoleAttribute(undefined)).toBeNull();
    expect(parseRoleAttribute([])).toBeNull();
    expect(parseRoleAttribute(['VIEWER', 'ADMIN'])).toBe('ADMIN');
    expect(parseRoleAttribute([' NO_ACCESS '])).toBe('NO_ACCESS');
    expect(refusal(() => parseRoleAttribute(['admin'])).code).toBe('INVALID_ATTRIBUTE');
    expect(refusal(() => parseRoleAttribute(['MEMBER'])).message).toContain('"MEMBER"');
  });
});

describe('landing', () => {
  const m = (organizationId: string, organizationName: string, role = 'ADMIN', status = 'ACTIVE') =>
    ({ organizationId, organizationName, role, status }) as Parameters<typeof chooseLanding>[0][number];

  test('RelayState when it can be entered', () => {
    expect(chooseLanding([m('a', 'A'), m('b', 'B')], 'b', 'a')).toEqual({ rule: 'RELAY_STATE', organizationId: 'b' });
  });
  test('else the last visited one', () => {
    expect(chooseLanding([m('a', 'A'), m('b', 'B', 'NO_ACCESS')], 'b', 'a')).toEqual({ rule: 'LAST_VISITED', organizationId: 'a' });
    expect(chooseLanding([m('a', 'A'), m('b', 'B')], null, 'b')).toEqual({ rule: 'LAST_VISITED', organizationId: 'b' });
  });
  test('else the first that can be entered, by name (case-insensitive), then id', () => {
    const all = [m('z', 'beta'), m('y', 'Alpha', 'VIEWER', 'DISABLED'), m('x', 'alpha'), m('w', 'Gamma')];
    expect(chooseLanding(all, 'y', 'y')).toEqual({ rule: 'FIRST_BY_NAME', organizationId: 'x' });
    expect(chooseLanding([m('b', 'Same'), m('a', 'same')], null, null)).toEqual({ rule: 'FIRST_BY_NAME', organizationId: 'a' });
  });
  test('none can be entered → NONE', () => {
    expect(chooseLanding([m('a', 'A', 'NO_ACCESS'), m('b', 'B', 'ADMIN', 'DISABLED')], 'a', 'b')).toEqual({ rule: 'NONE', organizationId: null });
    expect(chooseLanding([], null, null).rule).toBe('NONE');
  });
  test('STAGED and INVITED memberships can be entered', () => {
    expect(chooseLanding([m('a', 'A', 'VIEWER', 'STAGED')], null, null).organizationId).toBe('a');
  });
});
