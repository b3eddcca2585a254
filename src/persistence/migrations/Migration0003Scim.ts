import { Migration } from '@mikro-orm/migrations';

/**
 * SCIM 2.0: organization-scoped SCIM tokens and the per-organization SCIM
 * attributes of memberships. DDL as derived from src/persistence/scim-entities.ts
 * (scripts/print-schema-sql.ts). Depends only on Migration0001Initial.
 *
 * Indexes that serve the SCIM hot paths:
 * - scim_tokens_token_hash_unique: every request's token lookup (by SHA-256 of the secret);
 * - scim_users_organization_id_user_name_key_unique: `filter=userName eq "…"` and the
 *   uniqueness check of POST /Users;
 * - scim_users_organization_id_external_id_unique: `filter=externalId eq "…"`.
 */
export class Migration0003Scim extends Migration {
  override up(): void {
    this.addSql(`create table "scim_tokens" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "name" varchar(100) not null, "token_hash" varchar(64) not null, "created_by_user_id" varchar(64) null, "created_at" timestamptz not null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "scim_tokens" add constraint "scim_tokens_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "scim_tokens_organization_id_created_at_index" on "scim_tokens" ("organization_id", "created_at");`);
    this.addSql(`create table "scim_users" ("membership_id" varchar(255) not null, "organization_id" varchar(255) not null, "user_name" varchar(255) not null, "user_name_key" varchar(255) not null, "external_id" varchar(255) null, "attributes" jsonb not null default '{}', "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("membership_id"));`);
    this.addSql(`alter table "scim_users" add constraint "scim_users_organization_id_user_name_key_unique" unique ("organization_id", "user_name_key");`);
    this.addSql(`alter table "scim_users" add constraint "scim_users_organization_id_external_id_unique" unique ("organization_id", "external_id");`);
    this.addSql(`alter table "scim_tokens" add constraint "scim_tokens_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);
    this.addSql(`alter table "scim_users" add constraint "scim_users_membership_id_foreign" foreign key ("membership_id") references "memberships" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "scim_users" add constraint "scim_users_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);
  }

  override down(): void {
    this.addSql(`drop table if exists "scim_users" cascade;`);
    this.addSql(`drop table if exists "scim_tokens" cascade;`);
  }
}
