/**
 * Translates the SCIM filters we evaluate into SQL over one organization's rows.
 *
 * Every leaf is a `… in (indexed lookup)` on the row's key, so `userName eq "…"` and
 * `externalId eq "…"` stay index lookups however many users the organization has
 * (see bench/scim.ts), and and/or combine them as set operations.
 * Values travel as parameters only; attribute names come from a closed set.
 */
import type { GroupFilter, UserFilter } from './types.js';
import { lookupEmail, membershipsByUserName } from './user-name.js';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

const combine = <F extends { op: string }>(f: F & { filters: F[] }, leaf: (f: F) => SqlFragment): SqlFragment => {
  const parts = f.filters.map((x) => build(x, leaf));
  return { sql: `(${parts.map((p) => p.sql).join(f.op === 'and' ? ' and ' : ' or ')})`, params: parts.flatMap((p) => p.params) };
};


const build = <F extends { op: string }>(f: F, leaf: (f: F) => SqlFragment): SqlFragment =>
  f.op === 'and' || f.op === 'or' ? combine(f as F & { filters: F[] }, leaf) : leaf(f);

/**
 * Over `memberships m` of organization `organizationId`.
 * userName: see user-name.ts.
 */
export const userFilterSql = (filter: UserFilter, organizationId: string): SqlFragment =>
  build(filter, (f) => {
    if (f.op !== 'eq') throw new Error('unreachable');
    switch (f.attribute) {
      case 'userName': {
        const byName = membershipsByUserName(organizationId, f.value);
        return { sql: `m.id in (${byName.sql})`, params: byName.params };
      }
      case 'externalId':
        return { sql: 'm.id in (select s.membership_id from scim_users s where s.organization_id = ? and s.external_id = ?)', params: [organizationId, f.value] };
      case 'email': {
        const e = f.value.toLowerCase();
        const canonical = lookupEmail(f.value);
        return {
          sql: `m.id in (select m2.id from users u2 join memberships m2 on m2.user_id = u2.id and m2.organization_id = ? where u2.email = ?
                  union all
                  select s.membership_id from scim_users s where s.organization_id = ?
                     and exists (select 1 from jsonb_array_elements(case when jsonb_typeof(s.attributes->'emails') = 'array' then s.attributes->'emails' else '[]'::jsonb end) e
                                  where lower(e->>'value') = ?))`,
          params: [organizationId, canonical, organizationId, e],
        };
      }
      case 'id':
        return { sql: 'm.user_id = ?', params: [f.value] };
    }
  });

/** Over `teams t` of one organization. displayName compares case-insensitively (RFC 7643 §4.2: caseExact false). */
export const groupFilterSql = (filter: GroupFilter): SqlFragment =>
  build(filter, (f) => {
    if (f.op !== 'eq') throw new Error('unreachable');
    switch (f.attribute) {
      case 'displayName':
        return { sql: 'lower(t.name) = ?', params: [f.value.toLowerCase()] };
      case 'externalId':
        return { sql: 't.external_id = ?', params: [f.value] };
      case 'id':
        return { sql: 't.team_id = ?', params: [f.value] };
    }
  });
