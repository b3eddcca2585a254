/** Pure rules of SCIM Users: which email is the identity, and the display name a client asks for. */
import { expect, test } from 'vitest';
import { identityEmailOf, wantedDisplayName } from '../../src/domain/scim/scim-users.js';
import type { ScimUserInput } from '../../src/domain/scim/types.js';

const input = (o: Partial<ScimUserInput>): ScimUserInput => ({ userName: 'u', externalId: null, active: undefined, displayName: undefined, emails: [], attributes: {}, ...o });

test('identity email: primary, else type work, else the first', () => {
  expect(identityEmailOf([{ value: 'a' }, { value: 'b', primary: true }])?.value).toBe('b');
  expect(identityEmailOf([{ value: 'a', type: 'home' }, { value: 'b', type: 'Work' }])?.value).toBe('b');
  expect(identityEmailOf([{ value: 'a' }, { value: 'b' }])?.value).toBe('a');
  expect(identityEmailOf([])).toBeUndefined();
});

test('display name: given, else name.formatted, else given + family, else none', () => {
  expect(wantedDisplayName(input({ displayName: '  Ada  ' }))).toBe('Ada');
  expect(wantedDisplayName(input({ displayName: null, attributes: { name: { formatted: 'Ada Lovelace', givenName: 'X' } } }))).toBe('Ada Lovelace');
  expect(wantedDisplayName(input({ attributes: { name: { givenName: 'Ada', familyName: 'Lovelace' } } }))).toBe('Ada Lovelace');
  expect(wantedDisplayName(input({ attributes: { name: { familyName: 'Lovelace' } } }))).toBe('Lovelace');
  expect(wantedDisplayName(input({ displayName: '   ' }))).toBeNull();
});
