import { domainToASCII } from 'node:url';
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

/** Policies per team: every member's permissions carry them, and every read of the team lists them. */
export const MAX_POLICIES_PER_TEAM = 100;

export const checkPolicies = (policies: readonly string[], field = 'policies'): string[] => {
  for (const p of policies)
    if (!POLICY_PATTERN.test(p))
      throw badInput(field, `"${truncate(p)}" is not a valid policy: use 1–128 letters, digits or . _ : * / -`);
  const distinct = [...new Set(policies)];
  if (distinct.length > MAX_POLICIES_PER_TEAM) throw badInput(field, `at most ${MAX_POLICIES_PER_TEAM} policies per team (got ${distinct.length}).`);
  return distinct.sort();
};

// A pragmatic address check (RFC 5322 is wider than anything an IdP sends): one @,
// a non-empty local part without spaces, control characters or address-list syntax (",;<>()[]:\ and
// quotes: a mailer would read the email as other addresses), a host-name domain with a dot.
const EMAIL_PATTERN = /^[^\s@\p{Cc}(),:;<>"[\]\\]{1,64}@(?:[a-z0-9-]{1,63}\.)+[a-z0-9-]{1,63}$/u;
/** What the WHATWG host parser turns into an IPv4 address (127.0.0.1, 0x7f.1, …) ends up as four decimal numbers. */
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

/**
 * A domain in its one canonical form (SPEC §8): lower case, IDN labels in their ASCII
 * (punycode) form, no trailing dot. Null when it is not a domain name: IP literals
 * (`[127.0.0.1]`, `127.0.0.1`) and whatever the URL standard's host parser refuses.
 */
export const canonicalDomain = (domain: string): string | null => {
  const d = domain.endsWith('.') ? domain.slice(0, -1) : domain;
  if (!d || d.startsWith('[') || !d.isWellFormed()) return null;
  const ascii = domainToASCII(d);
  if (!ascii || IPV4.test(ascii) || ascii.endsWith('.')) return null;
  return ascii;
};

/**
 * Emails are unique and compared in one canonical form (SPEC §1, §8): lower-cased, the local
 * part in Unicode NFC (canonically equivalent spellings, `ü` and `u` + combining diaeresis, are
 * one address; compatibility forms such as the `ﬃ` ligature stay distinct, as mail servers keep
 * them), the domain as canonicalDomain gives it. Every edge (GraphQL, SCIM, SAML, CLI) goes through here.
 */
export const normalizeEmail = (email: string, field = 'email'): string => {
  const trimmed = email.trim();
  const at = trimmed.lastIndexOf('@');
  const refuse = (why = 'expected name@example.com') => badInput(field, `"${truncate(email)}" is not a valid email address (${why}).`);
  if (at <= 0 || !trimmed.isWellFormed()) throw refuse();
  const rawDomain = trimmed.slice(at + 1);
  if (rawDomain.startsWith('[')) throw refuse('an IP address is not accepted as the domain; use a domain name');
  const domain = canonicalDomain(rawDomain);
  if (domain === null) throw refuse(IPV4.test(domainToASCII(rawDomain.replace(/\.$/, ''))) ? 'an IP address is not accepted as the domain; use a domain name' : 'expected name@example.com');
  const e = `${trimmed.slice(0, at).toLowerCase().normalize('NFC')}@${domain}`;
  if (e.length > 254 || !EMAIL_PATTERN.test(e)) throw refuse();
  return e;
};

export const emailDomain = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

export const truncate = (s: string, max = 80): string => (s.length > max ? `${s.slice(0, max)}…` : s);
