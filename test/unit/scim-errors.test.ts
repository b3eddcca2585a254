/** DomainError → RFC 7644 §3.12 status and scimType, mapped once; projection of attributes. */
import { describe, expect, test } from 'vitest';
import { DomainError } from '../../src/domain/model/index.js';
import { scimError } from '../../src/domain/scim/types.js';
import { errorBody, fromDomainError, ScimHttpError, toScimError } from '../../src/transports/scim/errors.js';
import { parseProjection, project, wants } from '../../src/transports/scim/projection.js';
import { GROUP_RESOURCE, USER_RESOURCE } from '../../src/transports/scim/schema.js';

describe('errors', () => {
  test.each([
    [new DomainError('UNAUTHENTICATED', 'x'), 401, null],
    [new DomainError('FORBIDDEN', 'x'), 403, null],
    [new DomainError('NOT_FOUND', 'x'), 404, null],
    [new DomainError('BAD_USER_INPUT', 'x'), 400, 'invalidValue'],
    [new DomainError('INVALID_TRANSITION', 'x'), 400, 'invalidValue'],
    [new DomainError('CONFLICT', 'x', { constraint: 'scim_users_organization_id_user_name_key_unique' }), 409, 'uniqueness'],
    [new DomainError('CONFLICT', 'last admin', { organizationId: 'o' }), 409, null],
    [scimError('BAD_USER_INPUT', 'mutability', 'x'), 400, 'mutability'],
    [scimError('CONFLICT', 'uniqueness', 'x'), 409, 'uniqueness'],
    [scimError('BAD_USER_INPUT', 'tooMany', 'x'), 400, 'tooMany'],
  ] as const)('%s → %s %s', (error, status, scimType) => expect(fromDomainError(error)).toEqual({ status, scimType }));

  test('bodies have status as a string', () => {
    expect(errorBody(409, 'uniqueness', 'taken')).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness', detail: 'taken' });
    expect(toScimError(new ScimHttpError(400, 'invalidFilter', 'bad'))!.body.status).toBe('400');
    expect(toScimError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })!.status).toBe(413);
    expect(toScimError(new Error('boom'))).toBeNull();
  });
});

describe('projection', () => {
  const user = { schemas: ['s'], id: 'u', userName: 'x', name: { givenName: 'G', familyName: 'F' }, emails: [{ value: 'a', type: 'work' }], meta: { created: 'c' } };

  test('attributes keeps the named ones plus id and schemas; sub-attributes and multi-valued', () => {
    expect(project(user, parseProjection(USER_RESOURCE, 'name.givenName,EMAILS.value', undefined))).toEqual({ schemas: ['s'], id: 'u', name: { givenName: 'G' }, emails: [{ value: 'a' }] });
  });

  test('excludedAttributes removes, never id', () => {
    expect(project(user, parseProjection(USER_RESOURCE, undefined, 'name.familyName,meta,id,emails'))).toEqual({ schemas: ['s'], id: 'u', userName: 'x', name: { givenName: 'G' } });
  });

  test('wants() decides whether Group members are loaded', () => {
    expect(wants(parseProjection(GROUP_RESOURCE, undefined, 'members'), 'members')).toBe(false);
    expect(wants(parseProjection(GROUP_RESOURCE, 'displayName', undefined), 'members')).toBe(false);
    expect(wants(parseProjection(GROUP_RESOURCE, 'members.value', undefined), 'members')).toBe(true);
    expect(wants(parseProjection(GROUP_RESOURCE, undefined, undefined), 'members')).toBe(true);
  });

  test('unknown names are invalidPath', () => {
    expect(() => parseProjection(USER_RESOURCE, 'shoeSize', undefined)).toThrow(ScimHttpError);
  });
});
