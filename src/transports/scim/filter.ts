/**
 * `filter=` (RFC 7644 §3.4.2.2): parsed by scim2-parse-filter into an AST, then mapped
 * onto the filters the domain evaluates in SQL. Supported: `eq` on
 * Users: userName, externalId, emails.value (also `emails[value eq "…"]`), id;
 * Groups: displayName, externalId, id; combined with `and`, `or` and parentheses.
 * Anything else is refused with `invalidFilter`, naming what is supported.
 */
import { type Filter, parse } from 'scim2-parse-filter';
import type { GroupFilter, GroupFilterAttribute, ScimFilter, UserFilter, UserFilterAttribute } from '../../domain/scim/types.js';
import { badRequest } from './errors.js';
import { resolveAttributePath } from './paths.js';
import { GROUP_RESOURCE, type ResourceDef, USER_RESOURCE } from './schema.js';

/** Longest filter accepted, and most comparisons in one. */
export const MAX_FILTER_LENGTH = 4096;
export const MAX_FILTER_TERMS = 50;

const USER_ATTRIBUTES: Record<string, UserFilterAttribute> = { userName: 'userName', externalId: 'externalId', 'emails.value': 'email', id: 'id' };
const GROUP_ATTRIBUTES: Record<string, GroupFilterAttribute> = { displayName: 'displayName', externalId: 'externalId', id: 'id' };

const SUPPORTED_USERS = 'userName, externalId, emails.value and id';
const SUPPORTED_GROUPS = 'displayName, externalId and id';

const convert = <A extends string>(
  ast: Filter,
  resource: ResourceDef,
  attributes: Record<string, A>,
  supported: string,
  counter: { terms: number },
  prefix = '',
): ScimFilter<A> => {
  switch (ast.op) {
    case 'and':
    case 'or':
      return { op: ast.op, filters: ast.filters.map((f) => convert(f, resource, attributes, supported, counter, prefix)) };
    case 'eq': {
      counter.terms += 1;
      if (counter.terms > MAX_FILTER_TERMS) throw badRequest('invalidFilter', `A filter may compare at most ${MAX_FILTER_TERMS} values; split the query.`);
      const path = resolveAttributePath(resource, prefix ? `${prefix}.${ast.attrPath}` : ast.attrPath);
      const attribute = path ? attributes[path.keys.join('.')] : undefined;
      if (!attribute) throw badRequest('invalidFilter', `Filtering on "${prefix ? `${prefix}[${ast.attrPath}]` : ast.attrPath}" is not supported; filter on ${supported}.`);
      if (typeof ast.compValue !== 'string')
        throw badRequest('invalidFilter', `Compare ${ast.attrPath} with a quoted string, e.g. ${ast.attrPath} eq "value".`);
      return { op: 'eq', attribute, value: ast.compValue };
    }
    case '[]': {
      if (prefix) throw badRequest('invalidFilter', 'Nested value filters are not supported.');
      const path = resolveAttributePath(resource, ast.attrPath);
      if (!path?.def?.multiValued) throw badRequest('invalidFilter', `"${ast.attrPath}[…]": value filters apply to multi-valued attributes; filter on ${supported}.`);
      return convert(ast.valFilter, resource, attributes, supported, counter, path.keys.join('.'));
    }
    default:
      throw badRequest('invalidFilter', `The "${ast.op}" operator is not supported; use eq, combined with and / or (attributes: ${supported}).`);
  }
};

const parseFilter = <A extends string>(expression: string, resource: ResourceDef, attributes: Record<string, A>, supported: string): ScimFilter<A> => {
  if (expression.length > MAX_FILTER_LENGTH) throw badRequest('invalidFilter', `The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  if (!expression.trim()) throw badRequest('invalidFilter', 'The filter is empty; leave the parameter out to list everything.');
  let ast: Filter;
  try {
    ast = parse(expression);
  } catch (error) {
    throw badRequest('invalidFilter', `The filter does not parse (RFC 7644 §3.4.2.2), e.g. userName eq "alice@example.com": ${(error as Error).message}`);
  }
  return convert(ast, resource, attributes, supported, { terms: 0 });
};

export const parseUserFilter = (expression: string): UserFilter => parseFilter(expression, USER_RESOURCE, USER_ATTRIBUTES, SUPPORTED_USERS);
export const parseGroupFilter = (expression: string): GroupFilter => parseFilter(expression, GROUP_RESOURCE, GROUP_ATTRIBUTES, SUPPORTED_GROUPS);
