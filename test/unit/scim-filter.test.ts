/** SCIM filter parsing (scim2-parse-filter) → the filters the domain evaluates; refusals are invalidFilter. */
import { describe, expect, test } from 'vitest';
import { userFilterSql } from '../../src/domain/scim/filter-sql.js';
import { ScimHttpError } from '../../src/transports/scim/errors.js';
import { MAX_FILTER_TERMS, parseGroupFilter, parseUserFilter } from '../../src/transports/scim/filter.js';
import { thrown } from '../kit/thrown.js';

const refused = (fn: () => unknown): ScimHttpError => thrown(ScimHttpError, fn);

describe('parseUserFilter', () => {
  test.each([
    ['userName eq "a@b.c"', { op: 'eq', attribute: 'userName', value: 'a@b.c' }],
    ['USERNAME EQ "a@b.c"', { op: 'eq', attribute: 'userName', value: 'a@b.c' }],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"', { op: 'eq', attribute: 'userName', value: 'x' }],
    ['externalId eq "00u1"', { op: 'eq', attribute: 'externalId', value: '00u1' }],
    ['emails.value eq "a@b.c"', { op: 'eq', attribute: 'email', value: 'a@b.c' }],
    ['emails[value eq "a@b.c"]', { op: 'eq', attribute: 'email', value: 'a@b.c' }],
    ['id eq "usr_1"', { op: 'eq', attribute: 'id', value: 'usr_1' }],
    ['userName eq "quote\\"d"', { op: 'eq', attribute: 'userName', value: 'quote"d' }],
  ])('%s', (expr, expected) => expect(parseUserFilter(expr)).toEqual(expected));

  test('and / or with precedence and parentheses', () => {
    expect(parseUserFilter('userName eq "a" or userName eq "b" and externalId eq "c"')).toEqual({
      op: 'or',
      filters: [
        { op: 'eq', attribute: 'userName', value: 'a' },
        { op: 'and', filters: [{ op: 'eq', attribute: 'userName', value: 'b' }, { op: 'eq', attribute: 'externalId', value: 'c' }] },
      ],
    });
    expect(parseUserFilter('(userName eq "a" or userName eq "b") and externalId eq "c"')).toMatchObject({ op: 'and' });
  });

  test.each([
    ['userName eq', /does not parse/],
    ['userName eq "x" and', /does not parse/],
    ['"x" eq userName', /does not parse/],
    ['userName co "x"', /"co" operator is not supported/],
    ['userName pr', /"pr" operator is not supported/],
    ['not (userName eq "x")', /"not" operator/],
    ['title eq "x"', /Filtering on "title" is not supported/],
    ['emails.type eq "work"', /not supported/],
    ['emails[type eq "work"]', /not supported/],
    ['userName eq true', /quoted string/],
    ['userName eq null', /quoted string/],
    ['', /empty/],
  ])('refuses %j', (expr, message) => {
    const e = refused(() => parseUserFilter(expr));
    expect(e.status).toBe(400);
    expect(e.scimType).toBe('invalidFilter');
    expect(e.message).toMatch(message);
  });

  test('limits length and number of comparisons', () => {
    expect(refused(() => parseUserFilter('userName eq "' + 'x'.repeat(5000) + '"')).scimType).toBe('invalidFilter');
    const many = Array.from({ length: MAX_FILTER_TERMS + 1 }, (_, i) => `userName eq "u${i}"`).join(' or ');
    expect(refused(() => parseUserFilter(many)).message).toMatch(/at most/);
  });
});

describe('parseGroupFilter', () => {
  test('displayName, externalId, id', () => {
    expect(parseGroupFilter('displayName eq "Eng"')).toEqual({ op: 'eq', attribute: 'displayName', value: 'Eng' });
    expect(parseGroupFilter('externalId eq "e" or id eq "ugr-1"')).toMatchObject({ op: 'or' });
    expect(refused(() => parseGroupFilter('userName eq "x"')).scimType).toBe('invalidFilter');
  });
});

describe('userFilterSql', () => {
  test('values travel as parameters; userName and email compare lower-cased; and/or nest', () => {
    const sql = userFilterSql(parseUserFilter(`userName eq "A'B" or (externalId eq "X" and emails.value eq "M@X.IO")`), 'org_1');
    expect(sql.sql).not.toContain("A'B");
    expect(sql.sql).toMatch(/^\(m\.id in .* or \(m\.id in .* and m\.id in .*\)\)$/s);
    expect(sql.params).toEqual(['org_1', "a'b", 'org_1', "a'b", 'org_1', 'X', 'org_1', 'm@x.io', 'org_1', 'm@x.io']);
  });
});
