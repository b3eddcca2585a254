import { Migration } from '@mikro-orm/migrations';

/** Indexes for members pages: one ordered index range per organization (and status). */
export class Migration0009MembersPages extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "memberships_organization_id_id_index" on "memberships" ("organization_id", "id");`);
    this.addSql(`create index "memberships_organization_id_status_id_index" on "memberships" ("organization_id", "status", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "memberships_organization_id_status_id_index";`);
    this.addSql(`drop index if exists "memberships_organization_id_id_index";`);
  }
}
