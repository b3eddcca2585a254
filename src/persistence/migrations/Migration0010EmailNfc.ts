import { Migration } from '@mikro-orm/migrations';
import { canonicalizeStoredEmails } from '../canonical-emails.js';

/**
 * The canonical email form now puts the local part in Unicode NFC: stored emails are brought
 * to it as Migration0005Limits did for the rest of the form (spellings that now collide are
 * reported as a process warning with code ORGWAY_EMAIL_DUPLICATES, never merged).
 */
export class Migration0010EmailNfc extends Migration {
  override async up(): Promise<void> {
    await canonicalizeStoredEmails((sql, params) => this.execute(sql, params));
  }

  override down(): void {
    // Canonical emails stay canonical: the old spellings were equivalent.
  }
}
