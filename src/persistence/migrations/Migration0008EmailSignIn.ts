import { Migration } from '@mikro-orm/migrations';

/** Email sign-in challenges, invitation links and verified domains (SPEC §7; docs/sign-in.md). */
export class Migration0008EmailSignIn extends Migration {
  override up(): void {
    this.addSql(`create table "email_challenges" ("id" varchar(255) not null, "email" varchar(254) not null, "code_hash" varchar(64) not null, "link_hash" varchar(64) not null, "attempts" int not null default 0, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "email_challenges" add constraint "email_challenges_link_hash_unique" unique ("link_hash");`);
    this.addSql(`create index "email_challenges_email_created_at_index" on "email_challenges" ("email", "created_at");`);

    this.addSql(`create table "organization_domains" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "domain" varchar(253) not null, "token" varchar(64) not null, "verified_domain" varchar(253) null, "verified_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "organization_domains" add constraint "organization_domains_verified_domain_unique" unique ("verified_domain");`);
    this.addSql(`alter table "organization_domains" add constraint "organization_domains_organization_id_domain_unique" unique ("organization_id", "domain");`);
    this.addSql(`alter table "organization_domains" add constraint "organization_domains_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);

    this.addSql(`create table "invitations" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "user_id" varchar(255) not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "ended_at" timestamptz null, "ended_reason" varchar(16) null, primary key ("id"));`);
    this.addSql(`create index "invitations_user_id_index" on "invitations" ("user_id");`);
    this.addSql(`alter table "invitations" add constraint "invitations_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "invitations_organization_id_user_id_index" on "invitations" ("organization_id", "user_id");`);
    this.addSql(`alter table "invitations" add constraint "invitations_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);
    this.addSql(`alter table "invitations" add constraint "invitations_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
  }

  override down(): void {
    this.addSql(`drop table if exists "invitations" cascade;`);
    this.addSql(`drop table if exists "organization_domains" cascade;`);
    this.addSql(`drop table if exists "email_challenges" cascade;`);
  }
}
