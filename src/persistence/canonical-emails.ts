/**
 * Bringing stored emails to their canonical form (SPEC §8: lower case, IDN domains as
 * punycode, no trailing dot; the local part in NFC), run by Migration0005Limits and again by
 * Migration0010EmailNfc when the form gained NFC. Users whose emails become the
 * same are NOT merged: one of them (the one already canonical, else the oldest) takes the
 * canonical email, the others keep theirs, and the group is reported for an operator to
 * merge by hand (README, "Limits"). Emails that have no canonical form (IP-literal
 * domains) are reported and left alone.
 */
import { normalizeEmail } from '../domain/model/index.js';

export interface EmailRow {
  id: string;
  email: string;
  created_at: Date | string;
}

export interface CanonicalEmailPlan {
  /** Users whose email is rewritten to its canonical form. */
  updates: { id: string; from: string; to: string }[];
  /** Users that share one canonical email: the first keeps (or takes) it. */
  duplicates: { canonical: string; keeper: string; others: { id: string; email: string }[] }[];
  /** Emails with no canonical form. */
  invalid: { id: string; email: string }[];
}

export const planCanonicalEmails = (rows: readonly EmailRow[]): CanonicalEmailPlan => {
  const plan: CanonicalEmailPlan = { updates: [], duplicates: [], invalid: [] };
  const groups = new Map<string, EmailRow[]>();
  for (const row of rows) {
    let canonical: string;
    try {
      canonical = normalizeEmail(row.email);
    } catch {
      plan.invalid.push({ id: row.id, email: row.email });
      continue;
    }
    const group = groups.get(canonical);
    if (group) group.push(row);
    else groups.set(canonical, [row]);
  }
  const time = (r: EmailRow) => new Date(r.created_at).getTime();
  for (const [canonical, group] of groups) {
    group.sort((a, b) => Number(b.email === canonical) - Number(a.email === canonical) || time(a) - time(b) || a.id.localeCompare(b.id));
    const [keeper, ...others] = group as [EmailRow, ...EmailRow[]];
    if (keeper.email !== canonical) plan.updates.push({ id: keeper.id, from: keeper.email, to: canonical });
    if (others.length) plan.duplicates.push({ canonical, keeper: keeper.id, others: others.map((o) => ({ id: o.id, email: o.email })) });
  }
  return plan;
};

/** One line an operator can act on. */
export const describePlan = (plan: CanonicalEmailPlan): string | null => {
  if (!plan.duplicates.length && !plan.invalid.length) return null;
  const parts: string[] = [];
  if (plan.duplicates.length)
    parts.push(
      `${plan.duplicates.length} email(s) now name more than one user (not merged; merge them by hand, see the README, "Limits"): ` +
        plan.duplicates.map((d) => `${d.canonical} kept by ${d.keeper}, also ${d.others.map((o) => `${o.id} <${o.email}>`).join(', ')}`).join('; '),
    );
  if (plan.invalid.length)
    parts.push(`${plan.invalid.length} email(s) have no canonical form and were left as they are: ${plan.invalid.map((i) => `${i.id} <${i.email}>`).join(', ')}`);
  return parts.join('. ');
};

/** Rewrites stored emails to the canonical form by the plan and reports what it left (ORGWAY_EMAIL_DUPLICATES). */
export const canonicalizeStoredEmails = async (execute: (sql: string, params?: unknown[]) => Promise<unknown>): Promise<void> => {
  const rows = (await execute('select id, email, created_at from users order by id')) as EmailRow[];
  const plan = planCanonicalEmails(rows);
  for (const u of plan.updates) await execute('update users set email = ? where id = ?', [u.to, u.id]);
  const report = describePlan(plan);
  if (report) process.emitWarning(report, { code: 'ORGWAY_EMAIL_DUPLICATES' });
};
