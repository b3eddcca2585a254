/**
 * Effective permissions (SPEC §1): role built-ins ∪ team policies, empty when the
 * membership cannot be entered; and the access rules built on "can enter".
 */
import { describe, expect, test } from 'vitest';
import { assertAccess } from '../../src/domain/access.js';
import {
  canEnter,
  DomainError,
  effectivePermissions,
  higherRole,
  ORGANIZATION_ROLES,
  ROLE_PERMISSIONS,
  ROLES_GRANTABLE_BY_AUTOMATION,
  roleRank,
  USER_STATUSES,
} from '../../src/domain/model/index.js';

const ENTERABLE_STATUSES = ['STAGED', 'INVITED', 'ACTIVE'] as const;

describe('canEnter', () => {
  for (const role of ORGANIZATION_ROLES)
    for (const status of USER_STATUSES)
      test(`${role} ${status}`, () => {
        expect(canEnter({ role, status })).toBe(role !== 'NO_ACCESS' && status !== 'DISABLED');
      });
});

describe('effectivePermissions', () => {
  test('role built-ins alone, sorted', () => {
    for (const role of ORGANIZATION_ROLES)
      for (const status of ENTERABLE_STATUSES) expect(effectivePermissions({ role, status }, [])).toEqual([...ROLE_PERMISSIONS[role]].sort());
  });

  test('built-ins ∪ the policies of every team, without duplicates', () => {
    const p = effectivePermissions({ role: 'MEMBER', status: 'ACTIVE' }, [
      ['billing:read', 'account:use'],
      ['billing:read', 'reports:*'],
      [],
    ]);
    expect(p).toEqual(['account:use', 'billing:read', 'organization:read', 'reports:*']);
  });

  test('empty when DISABLED, whatever the role and teams', () => {
    for (const role of ORGANIZATION_ROLES) expect(effectivePermissions({ role, status: 'DISABLED' }, [['billing:read']])).toEqual([]);
  });

  test('empty for NO_ACCESS, whatever the status and teams', () => {
    for (const status of USER_STATUSES) expect(effectivePermissions({ role: 'NO_ACCESS', status }, [['billing:read']])).toEqual([]);
  });

  test('roles are ordered: each higher role has every permission of the ones below', () => {
    for (let i = 0; i + 1 < ORGANIZATION_ROLES.length; i++) {
      const higher = new Set(ROLE_PERMISSIONS[ORGANIZATION_ROLES[i]!]);
      for (const p of ROLE_PERMISSIONS[ORGANIZATION_ROLES[i + 1]!]) expect(higher.has(p), `${ORGANIZATION_ROLES[i]} has ${p}`).toBe(true);
    }
    expect(ROLE_PERMISSIONS.NO_ACCESS).toEqual([]);
    // Only ORG_ADMIN manages the organization's identity.
    for (const role of ORGANIZATION_ROLES)
      expect(ROLE_PERMISSIONS[role].includes('members:manage')).toBe(role === 'ORG_ADMIN');
  });
});

describe('roles', () => {
  test('rank and higherRole follow the spec order, highest first', () => {
    expect(ORGANIZATION_ROLES).toEqual(['ORG_ADMIN', 'ADMIN', 'MEMBER', 'VIEWER', 'NO_ACCESS']);
    for (let i = 0; i + 1 < ORGANIZATION_ROLES.length; i++) {
      const [a, b] = [ORGANIZATION_ROLES[i]!, ORGANIZATION_ROLES[i + 1]!];
      expect(roleRank(a)).toBeGreaterThan(roleRank(b));
      expect(higherRole(a, b)).toBe(a);
      expect(higherRole(b, a)).toBe(a);
    }
  });

  test('automation (SAML, JIT, SCIM) never grants ORG_ADMIN', () => {
    expect(ROLES_GRANTABLE_BY_AUTOMATION).not.toContain('ORG_ADMIN');
    expect([...ROLES_GRANTABLE_BY_AUTOMATION].sort()).toEqual(ORGANIZATION_ROLES.filter((r) => r !== 'ORG_ADMIN').sort());
  });
});

describe('assertAccess', () => {
  const org = { id: 'acme' };
  const code = (fn: () => void): string | null => {
    try {
      fn();
      return null;
    } catch (e) {
      expect(e).toBeInstanceOf(DomainError);
      return (e as DomainError).code;
    }
  };

  for (const role of ORGANIZATION_ROLES)
    for (const status of USER_STATUSES)
      test(`${role} ${status}`, () => {
        const m = { role, status, organization: org };
        const enter = canEnter(m);
        expect(code(() => assertAccess(m, 'member'))).toBeNull();
        expect(code(() => assertAccess(m, 'enter'))).toBe(enter ? null : 'FORBIDDEN');
        expect(code(() => assertAccess(m, 'admin'))).toBe(enter && role === 'ORG_ADMIN' ? null : 'FORBIDDEN');
      });

  test('messages say why and what to do', () => {
    expect(() => assertAccess({ role: 'MEMBER', status: 'DISABLED', organization: org }, 'enter')).toThrow(/DISABLED.*ORG_ADMIN/);
    expect(() => assertAccess({ role: 'NO_ACCESS', status: 'ACTIVE', organization: org }, 'enter')).toThrow(/NO_ACCESS/);
    expect(() => assertAccess({ role: 'ADMIN', status: 'ACTIVE', organization: org }, 'admin')).toThrow(/needs the ORG_ADMIN role.*you are ADMIN/);
  });
});
