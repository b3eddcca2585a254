import { Migration } from '@mikro-orm/migrations';

/**
 * SAML organization-level SSO (SPEC §2): connections, the organizations that
 * trust them, our AuthnRequest ids (InResponseTo), used assertion ids (replay across
 * instances) and refused sign-ins. DDL as derived from src/persistence/saml-entities.ts
 * (scripts/print-schema-sql.ts). Depends only on Migration0001Initial.
 *
 * - used_assertions_connection_id_assertion_id_unique: the atomic insert-or-fail that
 *   makes an assertion id single use across gateway instances;
 * - saml_requests primary key: the atomic `update … where used_at is null` of InResponseTo;
 * - *_expires_at_index: the periodic clean-up of expired rows.
 */
export class Migration0002Saml extends Migration {
  override up(): void {
    this.addSql(`create table "saml_connections" ("id" varchar(255) not null, "owner_organization_id" varchar(255) not null, "name" varchar(200) not null, "idp_entity_id" varchar(1024) not null, "sso_url" varchar(2048) not null, "signing_certificates" jsonb not null, "attribute_prefix" varchar(64) not null default 'SPOTINST', "default_organization_id" varchar(255) null, "allow_idp_initiated" boolean not null default false, "sp_decryption_key" text null, "sp_certificate" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "saml_connections_owner_organization_id_index" on "saml_connections" ("owner_organization_id");`);
    this.addSql(`create table "saml_requests" ("id" varchar(128) not null, "connection_id" varchar(255) not null, "organization_id" varchar(64) null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "saml_requests_expires_at_index" on "saml_requests" ("expires_at");`);
    this.addSql(`create table "saml_sign_in_failures" ("id" varchar(255) not null, "connection_id" varchar(255) not null, "code" varchar(32) not null, "message" text not null, "detail" text null, "email" varchar(254) null, "occurred_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "saml_sign_in_failures_connection_id_occurred_at_index" on "saml_sign_in_failures" ("connection_id", "occurred_at");`);
    this.addSql(`create table "saml_trusts" ("id" varchar(255) not null, "connection_id" varchar(255) not null, "organization_id" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "saml_trusts_organization_id_index" on "saml_trusts" ("organization_id");`);
    this.addSql(`alter table "saml_trusts" add constraint "saml_trusts_connection_id_organization_id_unique" unique ("connection_id", "organization_id");`);
    this.addSql(`create table "used_assertions" ("id" varchar(255) not null, "connection_id" varchar(255) not null, "assertion_id" varchar(256) not null, "expires_at" timestamptz not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "used_assertions_expires_at_index" on "used_assertions" ("expires_at");`);
    this.addSql(`alter table "used_assertions" add constraint "used_assertions_connection_id_assertion_id_unique" unique ("connection_id", "assertion_id");`);
    this.addSql(`alter table "saml_connections" add constraint "saml_connections_owner_organization_id_foreign" foreign key ("owner_organization_id") references "organizations" ("id") on delete cascade;`);
    this.addSql(`alter table "saml_connections" add constraint "saml_connections_default_organization_id_foreign" foreign key ("default_organization_id") references "organizations" ("id") on delete set null;`);
    this.addSql(`alter table "saml_requests" add constraint "saml_requests_connection_id_foreign" foreign key ("connection_id") references "saml_connections" ("id") on delete cascade;`);
    this.addSql(`alter table "saml_sign_in_failures" add constraint "saml_sign_in_failures_connection_id_foreign" foreign key ("connection_id") references "saml_connections" ("id") on delete cascade;`);
    this.addSql(`alter table "saml_trusts" add constraint "saml_trusts_connection_id_foreign" foreign key ("connection_id") references "saml_connections" ("id") on delete cascade;`);
    this.addSql(`alter table "saml_trusts" add constraint "saml_trusts_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);
    this.addSql(`alter table "used_assertions" add constraint "used_assertions_connection_id_foreign" foreign key ("connection_id") references "saml_connections" ("id") on delete cascade;`);
  }

  override down(): void {
    this.addSql(`drop table if exists "saml_sign_in_failures" cascade;`);
    this.addSql(`drop table if exists "used_assertions" cascade;`);
    this.addSql(`drop table if exists "saml_requests" cascade;`);
    this.addSql(`drop table if exists "saml_trusts" cascade;`);
    this.addSql(`drop table if exists "saml_connections" cascade;`);
  }
}
