import { badInput } from './errors.js';

export const ORGANIZATION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const TEAM_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** Policies are permission strings such as `billing:read`. */
export const POLICY_PATTERN = /^[A-Za-z0-9._:*/-]{1,128}$/;

export const checkOrganizationId = (id: string, field = 'organizationId'): string => {
  if (!ORGANIZATION_ID_PATTERN.test(id))
    throw badInput(field, `"${truncate(id)}" is not a valid organization id: use 1–64 letters, digits, "_" or "-".`);
  return id;
};

export const checkTeamId = (id: string, field = 'teamId'): string => {
  if (!TEAM_ID_PATTERN.test(id))
    throw badInput(field, `"${truncate(id)}" is not a valid team id: use 1–64 letters, digits, ".", "_" or "-" (e.g. ugr-1a3a).`);
  return id;
};

export const checkName = (name: string, field = 'name', max = 200): string => {
  const trimmed = name.trim();
  if (!trimmed) throw badInput(field, 'must not be empty.');
  if (trimmed.length > max) throw badInput(field, `must be at most ${max} characters (got ${trimmed.length}).`);
  return trimmed;
};

export const checkPolicies = (policies: readonly string[], field = 'policies'): string[] => {
  for (const p of policies)
    if (!POLICY_PATTERN.test(p))
      throw badInput(field, `"${truncate(p)}" is not a valid policy: use 1–128 letters, digits or . _ : * / -`);
  return [...new Set(policies)].sort();
};

// A pragmatic address check (RFC 5322 is wider than anything an IdP sends): one @,
// a non-empty local part without spaces, a domain with a dot.
const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;

/** Emails are unique and compared lower-cased (SPEC §1). */
export const normalizeEmail = (email: string, field = 'email'): string => {
  const e = email.trim().toLowerCase();
  if (e.length > 254 || !EMAIL_PATTERN.test(e))
    throw badInput(field, `"${truncate(email)}" is not a valid email address (expected name@example.com).`);
  return e;
};

export const emailDomain = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

export const truncate = (s: string, max = 80): string => (s.length > max ? `${s.slice(0, max)}…` : s);
