import { Migration } from '@mikro-orm/migrations';
import { describePlan, type EmailRow, planCanonicalEmails } from '../canonical-emails.js';

/**
 * SPEC §8 limits: stored emails brought to their canonical form (duplicates reported as a
 * process warning with code ORGWAY_EMAIL_DUPLICATES, never merged).
 */
export class Migration0005Limits extends Migration {
  override async up(): Promise<void> {
    const rows = (await this.execute('select id, email, created_at from users order by id')) as unknown as EmailRow[];
    const plan = planCanonicalEmails(rows);
    for (const u of plan.updates) await this.execute('update users set email = ? where id = ?', [u.to, u.id]);
    const report = describePlan(plan);
    if (report) process.emitWarning(report, { code: 'ORGWAY_EMAIL_DUPLICATES' });
  }

  override down(): void {
    // Canonical emails stay canonical: the old spellings were equivalent.
  }
}
