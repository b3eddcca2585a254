/**
 * The SAML attributes orgway reads (SPEC §2 steps 1, 2 and 4), as pure functions.
 *
 * - `OrgAndRole`: `<PREFIX>-<OrganizationId>-<ROLE>`. PREFIX is the text before the
 *   first dash, ROLE the text after the last dash, the organization id what lies between
 *   (it may contain dashes). Exact case everywhere.
 * - `OrgAndUserGroups`: `<PREFIX>-<OrganizationId>:<teamId>[,<teamId>…]`.
 * - `Role`: `ADMIN`, `VIEWER` or `NO_ACCESS`.
 *
 * Values whose prefix is not the connection's are someone else's and ignored; a value
 * with our prefix that does not parse refuses the whole sign-in (INVALID_ATTRIBUTE), with
 * a message naming the value. Surrounding whitespace of a value (IdPs that pretty-print
 * their XML) is not part of it.
 */
import { DomainError, higherRole, ORGANIZATION_ID_PATTERN, TEAM_ID_PATTERN, truncate } from '../model/index.js';

/** Attribute names, exact and case-sensitive. */
export const ORG_AND_ROLE = 'OrgAndRole';
export const ORG_AND_USER_GROUPS = 'OrgAndUserGroups';
export const ROLE_ATTRIBUTE = 'Role';

/** The roles an IdP may assert, exact case (SPEC §2). ORG_ADMIN and MEMBER are not among them. */
export const SAML_ROLES = ['ADMIN', 'VIEWER', 'NO_ACCESS'] as const;
export type SamlRole = (typeof SAML_ROLES)[number];
export const isSamlRole = (v: string): v is SamlRole => (SAML_ROLES as readonly string[]).includes(v);

/** A connection's attribute prefix: what may appear before the first dash. */
export const ATTRIBUTE_PREFIX_PATTERN = /^[A-Za-z0-9_.]{1,64}$/;

const invalid = (attribute: string, value: string, why: string, extra: Record<string, unknown> = {}): DomainError =>
  new DomainError('INVALID_ATTRIBUTE', `${attribute} value "${truncate(value, 200)}" ${why}`, { attribute, value: truncate(value, 200), ...extra });

/** Splits off the prefix (text before the first dash); null when the value is not ours. */
const ours = (value: string, prefix: string): { rest: string | null } | null => {
  const dash = value.indexOf('-');
  const head = dash < 0 ? value : value.slice(0, dash);
  if (head !== prefix) return null;
  return { rest: dash < 0 ? null : value.slice(dash + 1) };
};

/**
 * OrgAndRole values → organization id → role. The same organization named twice
 * keeps the higher role. Throws INVALID_ATTRIBUTE for a malformed value with our prefix
 * or an unknown role.
 */
export const parseOrgAndRole = (values: readonly string[], prefix: string): Map<string, SamlRole> => {
  const expected = `expected ${prefix}-<OrganizationId>-<ROLE> with ROLE one of ${SAML_ROLES.join(', ')}`;
  const result = new Map<string, SamlRole>();
  for (const raw of values) {
    const value = raw.trim();
    const split = ours(value, prefix);
    if (!split) continue;
    const rest = split.rest;
    const last = rest === null ? -1 : rest.lastIndexOf('-');
    if (rest === null || last < 0) throw invalid(ORG_AND_ROLE, value, `has the prefix ${prefix} but no organization and role: ${expected}.`);
    const organizationId = rest.slice(0, last);
    const role = rest.slice(last + 1);
    if (!organizationId) throw invalid(ORG_AND_ROLE, value, `names no organization: ${expected}.`);
    if (!ORGANIZATION_ID_PATTERN.test(organizationId))
      throw invalid(ORG_AND_ROLE, value, `names "${truncate(organizationId)}", which is not an organization id (1–64 letters, digits, "_" or "-"): ${expected}.`);
    if (!isSamlRole(role))
      throw invalid(ORG_AND_ROLE, value, `has the unknown role "${truncate(role)}": use one of ${SAML_ROLES.join(', ')} (exact case).`, {
        allowed: SAML_ROLES,
      });
    const before = result.get(organizationId);
    result.set(organizationId, before ? (higherRole(before, role) as SamlRole) : role);
  }
  return result;
};

/**
 * OrgAndUserGroups values → organization id → team ids (several values for one
 * organization are merged). `<PREFIX>-<org>:` with no team names no team for that
 * organization (its SAML-assigned teams are cleared). Throws INVALID_ATTRIBUTE.
 */
export const parseOrgAndUserGroups = (values: readonly string[], prefix: string): Map<string, Set<string>> => {
  const expected = `expected ${prefix}-<OrganizationId>:<teamId>[,<teamId>…]`;
  const result = new Map<string, Set<string>>();
  for (const raw of values) {
    const value = raw.trim();
    const split = ours(value, prefix);
    if (!split) continue;
    const rest = split.rest;
    const colon = rest === null ? -1 : rest.indexOf(':');
    if (rest === null || colon < 0) throw invalid(ORG_AND_USER_GROUPS, value, `is not a list of teams: ${expected}.`);
    const organizationId = rest.slice(0, colon);
    if (!ORGANIZATION_ID_PATTERN.test(organizationId))
      throw invalid(ORG_AND_USER_GROUPS, value, `names "${truncate(organizationId)}", which is not an organization id (1–64 letters, digits, "_" or "-"): ${expected}.`);
    const list = rest.slice(colon + 1).trim();
    const teams = result.get(organizationId) ?? new Set<string>();
    if (list !== '')
      for (const t of list.split(',')) {
        const teamId = t.trim();
        if (!TEAM_ID_PATTERN.test(teamId))
          throw invalid(ORG_AND_USER_GROUPS, value, `contains "${truncate(teamId)}", which is not a team id (1–64 letters, digits, ".", "_" or "-", e.g. ugr-1a3a): ${expected}.`);
        teams.add(teamId);
      }
    result.set(organizationId, teams);
  }
  return result;
};

/** The `Role` attribute: null when absent; several values keep the highest. */
export const parseRoleAttribute = (values: readonly string[] | undefined): SamlRole | null => {
  let role: SamlRole | null = null;
  for (const raw of values ?? []) {
    const value = raw.trim();
    if (!isSamlRole(value))
      throw invalid(ROLE_ATTRIBUTE, value, `is not a role: use one of ${SAML_ROLES.join(', ')} (exact case).`, { allowed: SAML_ROLES });
    role = role ? (higherRole(role, value) as SamlRole) : value;
  }
  return role;
};
