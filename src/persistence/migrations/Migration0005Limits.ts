import { Migration } from '@mikro-orm/migrations';
import { canonicalizeStoredEmails } from '../canonical-emails.js';

/**
 * SPEC §8 limits: the shared rate-limit counters (src/persistence/rate-limit-entities.ts,
 * the layout rate-limiter-flexible's PostgreSQL store uses; it does not create the table
 * itself), and stored emails brought to their canonical form (duplicates reported as a
 * process warning with code ORGWAY_EMAIL_DUPLICATES, never merged).
 */
export class Migration0005Limits extends Migration {
  override async up(): Promise<void> {
    await this.execute(`create table "rate_limits" ("key" varchar(255) not null, "points" int not null default 0, "expire" bigint null, primary key ("key"));`);
    await this.execute(`create index "rate_limits_expire_index" on "rate_limits" ("expire");`);
    await canonicalizeStoredEmails((sql, params) => this.execute(sql, params));
  }

  override down(): void {
    // Canonical emails stay canonical: the old spellings were equivalent.
    this.addSql(`drop table if exists "rate_limits" cascade;`);
  }
}
