import { Migration } from '@mikro-orm/migrations';

/** Initial schema, as derived from the entities (scripts/print-schema-sql.ts). */
export class Migration0001Initial extends Migration {
  override up(): void {
    this.addSql(`create table "membership_events" ("id" bigserial primary key, "type" varchar(16) not null, "organization_id" varchar(64) not null, "user_id" varchar(64) not null, "membership_id" varchar(64) not null, "actor" varchar(200) not null, "role" varchar(16) null, "status" varchar(16) null, "previous_role" varchar(16) null, "previous_status" varchar(16) null, "team_ids" jsonb null, "previous_team_ids" jsonb null, "occurred_at" timestamptz not null);`);
    this.addSql(`create index "membership_events_organization_id_id_index" on "membership_events" ("organization_id", "id");`);
    this.addSql(`create index "membership_events_user_id_id_index" on "membership_events" ("user_id", "id");`);
    this.addSql(`create table "organizations" ("id" varchar(255) not null, "name" varchar(200) not null, "auto_access_enabled" boolean not null default false, "auto_access_default_role" varchar(16) not null default 'MEMBER', "auto_access_domains" jsonb not null default '[]', "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create table "outbox_emails" ("id" varchar(255) not null, "kind" varchar(32) not null, "to_address" varchar(254) not null, "subject" varchar(300) not null, "text_body" text not null, "created_at" timestamptz not null, "next_attempt_at" timestamptz not null, "attempts" int not null default 0, "locked_until" timestamptz null, "sent_at" timestamptz null, "last_error" text null, primary key ("id"));`);
    this.addSql(`create index "outbox_emails_sent_at_next_attempt_at_index" on "outbox_emails" ("sent_at", "next_attempt_at");`);
    this.addSql(`create table "signing_keys" ("kid" varchar(255) not null, "algorithm" varchar(16) not null, "private_jwk" jsonb not null, "public_jwk" jsonb not null, "created_at" timestamptz not null, "retired_at" timestamptz null, "expires_at" timestamptz null, primary key ("kid"));`);
    this.addSql(`create table "teams" ("key" varchar(255) not null, "organization_id" varchar(255) not null, "team_id" varchar(64) not null, "name" varchar(200) not null, "policies" jsonb not null default '[]', "external_id" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("key"));`);
    this.addSql(`alter table "teams" add constraint "teams_organization_id_team_id_unique" unique ("organization_id", "team_id");`);
    this.addSql(`alter table "teams" add constraint "teams_organization_id_external_id_unique" unique ("organization_id", "external_id");`);
    this.addSql(`create table "users" ("id" varchar(255) not null, "email" varchar(254) not null, "display_name" varchar(200) null, "last_visited_organization_id" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);
    this.addSql(`create table "sessions" ("id" varchar(255) not null, "token_hash" varchar(64) not null, "kind" varchar(16) not null, "name" varchar(200) null, "user_id" varchar(255) not null, "current_organization_id" varchar(255) null, "created_at" timestamptz not null, "expires_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "sessions" add constraint "sessions_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "sessions_user_id_index" on "sessions" ("user_id");`);
    this.addSql(`create table "memberships" ("id" varchar(255) not null, "user_id" varchar(255) not null, "organization_id" varchar(255) not null, "role" varchar(16) not null, "status" varchar(16) not null, "source" varchar(16) not null, "last_visited_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "memberships_user_id_index" on "memberships" ("user_id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_organization_id_user_id_unique" unique ("organization_id", "user_id");`);
    this.addSql(`create table "team_members" ("id" varchar(255) not null, "team_key" varchar(255) not null, "membership_id" varchar(255) not null, "source" varchar(16) not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "team_members_membership_id_index" on "team_members" ("membership_id");`);
    this.addSql(`alter table "team_members" add constraint "team_members_team_key_membership_id_unique" unique ("team_key", "membership_id");`);
    this.addSql(`alter table "teams" add constraint "teams_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);
    this.addSql(`alter table "users" add constraint "users_last_visited_organization_id_foreign" foreign key ("last_visited_organization_id") references "organizations" ("id") on delete set null;`);
    this.addSql(`alter table "sessions" add constraint "sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "sessions" add constraint "sessions_current_organization_id_foreign" foreign key ("current_organization_id") references "organizations" ("id") on delete set null;`);
    this.addSql(`alter table "memberships" add constraint "memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "memberships" add constraint "memberships_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);
    this.addSql(`alter table "team_members" add constraint "team_members_team_key_foreign" foreign key ("team_key") references "teams" ("key") on delete cascade;`);
    this.addSql(`alter table "team_members" add constraint "team_members_membership_id_foreign" foreign key ("membership_id") references "memberships" ("id") on delete cascade;`);
  }
}
