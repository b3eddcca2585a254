/** The quirk normaliser and PATCH preparation: what Okta and Entra ID send becomes canonical RFC 7644 input. */
import { describe, expect, test } from 'vitest';
import { ScimHttpError } from '../../src/transports/scim/errors.js';
import { applyPatch, preparePatch, readPatchMessage } from '../../src/transports/scim/patch.js';
import { normalizePatchOperations, normalizeResourceBody } from '../../src/transports/scim/quirks.js';
import { parseGroup, parseUser } from '../../src/transports/scim/resources.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_RESOURCE, GROUP_SCHEMA, PATCH_OP_SCHEMA, USER_RESOURCE, USER_SCHEMA } from '../../src/transports/scim/schema.js';
import { thrown } from '../kit/thrown.js';

const refusal = (fn: () => unknown): ScimHttpError => thrown(ScimHttpError, fn);

describe('normalizePatchOperations', () => {
  test('op names in any case (Entra ID: Replace, Add, Remove)', () => {
    const ops = normalizePatchOperations(USER_RESOURCE, [{ op: 'Replace', path: 'title', value: 'x' }, { op: 'ADD', path: 'nickName', value: 'y' }, { op: 'Remove', path: 'title' }], 'usr_1');
    expect(ops.map((o) => o.op)).toEqual(['replace', 'add', 'remove']);
  });

  test('"active": "False" / "True" strings become booleans, with and without path', () => {
    expect(normalizePatchOperations(USER_RESOURCE, [{ op: 'replace', path: 'active', value: 'False' }], 'u')).toEqual([{ op: 'replace', path: 'active', value: false }]);
    expect(normalizePatchOperations(USER_RESOURCE, [{ op: 'replace', value: { active: 'TRUE' } }], 'u')).toEqual([{ op: 'replace', path: 'active', value: true }]);
    expect(normalizePatchOperations(USER_RESOURCE, [{ op: 'add', path: 'emails', value: [{ value: 'a@b.c', primary: 'true' }] }], 'u')[0]!.value).toEqual([{ value: 'a@b.c', primary: true }]);
  });

  test('a path-less object becomes one operation per attribute; keys may be paths', () => {
    const ops = normalizePatchOperations(
      USER_RESOURCE,
      [{ op: 'replace', value: { displayName: 'X', 'name.givenName': 'G', 'emails[type eq "work"].value': 'w@x.io', [`${ENTERPRISE_USER_SCHEMA}:department`]: 'D' } }],
      'u',
    );
    expect(ops).toEqual([
      { op: 'replace', path: 'displayName', value: 'X' },
      { op: 'replace', path: 'name.givenName', value: 'G' },
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'w@x.io' },
      { op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:department`, value: 'D' },
    ]);
  });

  test('attribute names in any case and core-URN-qualified paths become canonical', () => {
    const ops = normalizePatchOperations(USER_RESOURCE, [{ op: 'replace', path: `${USER_SCHEMA}:UserName`, value: 'x' }, { op: 'replace', path: 'NAME.GIVENNAME', value: 'y' }], 'u');
    expect(ops.map((o) => o.path)).toEqual(['userName', 'name.givenName']);
  });

  test("Okta's group rename carries the group's own id, which is dropped", () => {
    const ops = normalizePatchOperations(GROUP_RESOURCE, [{ op: 'replace', value: { id: 'ugr-1', displayName: 'New' } }], 'ugr-1');
    expect(ops).toEqual([{ op: 'replace', path: 'displayName', value: 'New' }]);
    // Another id is kept for validation to refuse.
    expect(normalizePatchOperations(GROUP_RESOURCE, [{ op: 'replace', value: { id: 'ugr-2' } }], 'ugr-1')).toEqual([{ op: 'replace', path: 'id', value: 'ugr-2' }]);
  });

  test('members: {$ref: null, value}, display and single objects become [{value}]', () => {
    const ops = normalizePatchOperations(GROUP_RESOURCE, [{ op: 'Add', path: 'members', value: { $ref: null, value: 'u1', display: 'U' } }], 'g');
    expect(ops).toEqual([{ op: 'add', path: 'members', value: [{ value: 'u1' }] }]);
  });

  test('Okta password and empty roles are dropped; Entra manager id becomes {value}', () => {
    expect(normalizePatchOperations(USER_RESOURCE, [{ op: 'replace', value: { password: 'secret' } }], 'u')).toEqual([]);
    expect(normalizePatchOperations(USER_RESOURCE, [{ op: 'replace', path: 'roles', value: [] }], 'u')).toEqual([]);
    expect(normalizePatchOperations(USER_RESOURCE, [{ op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: 'm1' }], 'u')).toEqual([
      { op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: { value: 'm1' } },
    ]);
  });
});

describe('normalizeResourceBody', () => {
  test('drops the Microsoft Group URN, password and empty roles; canonical attribute names', () => {
    const body = normalizeResourceBody(GROUP_RESOURCE, {
      schemas: [GROUP_SCHEMA, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      DisplayName: 'G',
      Members: { value: 'u1', $ref: null },
    });
    expect(body).toEqual({ schemas: [GROUP_SCHEMA], displayName: 'G', members: [{ value: 'u1' }] });
    const user = normalizeResourceBody(USER_RESOURCE, { schemas: [USER_SCHEMA], username: 'x', password: 'p', roles: [], Active: 'false' });
    expect(user).toEqual({ schemas: [USER_SCHEMA], userName: 'x', active: false });
  });
});

describe('PATCH messages', () => {
  const msg = (...Operations: unknown[]) => ({ schemas: [PATCH_OP_SCHEMA], Operations });

  test.each([
    [{}, 'invalidSyntax'],
    [{ schemas: [USER_SCHEMA], Operations: [{ op: 'add', path: 'title', value: 'x' }] }, 'invalidSyntax'],
    [{ schemas: [PATCH_OP_SCHEMA] }, 'invalidValue'],
    [{ schemas: [PATCH_OP_SCHEMA], Operations: [] }, 'invalidValue'],
    [{ schemas: [PATCH_OP_SCHEMA], Operations: ['add'] }, 'invalidSyntax'],
    [{ schemas: [PATCH_OP_SCHEMA], Operations: [{ path: 'title' }] }, 'invalidSyntax'],
    [{ schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'add', path: 7, value: 1 }] }, 'invalidPath'],
  ])('message %j → %s', (body, scimType) => expect(refusal(() => readPatchMessage(body)).scimType).toBe(scimType));

  test.each([
    [{ op: 'move', path: 'title', value: 'x' }, 'invalidSyntax'],
    [{ op: 'remove' }, 'noTarget'],
    [{ op: 'add', path: 'title' }, 'invalidValue'],
    [{ op: 'add', value: 'not an object' }, 'invalidValue'],
    [{ op: 'add', path: 'shoeSize', value: 1 }, 'invalidPath'],
    [{ op: 'add', path: 'name.middle', value: 1 }, 'invalidPath'],
    [{ op: 'add', path: 'userName[value eq "x"]', value: 1 }, 'invalidPath'],
    [{ op: 'add', path: 'emails[value eq ]', value: 1 }, 'invalidFilter'],
    [{ op: 'replace', path: 'meta.lastModified', value: 'x' }, 'mutability'],
    [{ op: 'replace', path: 'groups', value: [] }, 'mutability'],
    [{ op: 'remove', path: 'userName' }, 'mutability'],
  ])('operation %j → %s', (op, scimType) => expect(refusal(() => preparePatch(USER_RESOURCE, readPatchMessage(msg(op)), 'u')).scimType).toBe(scimType));

  test('scim-patch applies filtered paths; replace with no match on members is noTarget', () => {
    const doc = { schemas: [USER_SCHEMA], id: 'u', userName: 'x', emails: [{ value: 'old@x.io', type: 'work', primary: true }], meta: {} };
    const out = applyPatch(doc, preparePatch(USER_RESOURCE, readPatchMessage(msg({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@x.io' })), 'u'));
    expect(out.emails).toEqual([{ value: 'new@x.io', type: 'work', primary: true }]);
    expect(doc.emails[0]!.value).toBe('old@x.io'); // the current document is not mutated
    const group = { schemas: [GROUP_SCHEMA], id: 'g', displayName: 'G', members: [{ value: 'u1' }], meta: {} };
    const e = refusal(() => applyPatch(group, preparePatch(GROUP_RESOURCE, readPatchMessage(msg({ op: 'replace', path: 'members[value eq "u9"]', value: { value: 'u2' } })), 'g')));
    expect(e.scimType).toBe('noTarget');
  });
});

describe('resource bodies', () => {
  test('parseUser keeps per-organization attributes apart from the shared ones', () => {
    const input = parseUser({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      id: 'ignored',
      meta: { resourceType: 'User' },
      groups: [],
      userName: 'u@x.io',
      displayName: 'U',
      active: 'False',
      emails: [{ value: 'u@x.io', primary: true }],
      title: 'T',
      [ENTERPRISE_USER_SCHEMA]: { department: 'D', manager: { value: 'm', displayName: 'read-only' } },
    });
    expect(input).toEqual({
      userName: 'u@x.io',
      externalId: null,
      active: false,
      displayName: 'U',
      emails: [{ value: 'u@x.io', primary: true }],
      attributes: { title: 'T', [ENTERPRISE_USER_SCHEMA]: { department: 'D', manager: { value: 'm' } } },
    });
  });

  test('parseGroup: members absent means keep (PUT) or none (PATCH result); nested groups refused', () => {
    expect(parseGroup({ schemas: [GROUP_SCHEMA], displayName: 'G' }).members).toBeUndefined();
    expect(parseGroup({ schemas: [GROUP_SCHEMA], displayName: 'G' }, 'none').members).toEqual([]);
    expect(refusal(() => parseGroup({ schemas: [GROUP_SCHEMA], displayName: 'G', members: [{ value: 'g2', type: 'Group' }] })).scimType).toBe('invalidValue');
  });
});
