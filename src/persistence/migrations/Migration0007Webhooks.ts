import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §10: the audit log's indexes, webhook endpoints and their delivery attempts. DDL as
 * derived from src/persistence/entities.ts and webhook-entities.ts (scripts/print-schema-sql.ts).
 *
 * - membership_events_organization_id_type_id_index: `Organization.events(types: …)` reads
 *   each selected type as its own ordered range (docs/audit-log.md), so a page costs the
 *   same however long the log is;
 * - membership_events_organization_id_user_id_id_index: `Organization.events(userId: …)`;
 * - webhook_endpoints_next_attempt_at_index: the dispatcher's claim of due endpoints;
 * - webhook_deliveries_endpoint_id_id_index: `WebhookEndpoint.deliveries`, newest first;
 * - webhook_deliveries_endpoint_id_status_id_index: an endpoint's pending redeliveries;
 * - webhook_deliveries_requested_at_index: the pruning of attempts past their retention.
 *
 * An endpoint's `cursor` is the id of the last event it has been given (delivered or not
 * selected): deliveries are driven from the event log, not from a queue. Secrets are kept
 * as the Standard Webhooks `whsec_…` text because signing needs them.
 */
export class Migration0007Webhooks extends Migration {
  override up(): void {
    this.addSql(`create index "membership_events_organization_id_type_id_index" on "membership_events" ("organization_id", "type", "id");`);
    this.addSql(`create index "membership_events_organization_id_user_id_id_index" on "membership_events" ("organization_id", "user_id", "id");`);
    this.addSql(`create table "webhook_endpoints" ("id" varchar(64) not null, "organization_id" varchar(255) not null, "url" varchar(2048) not null, "event_types" jsonb not null, "secret" varchar(100) not null, "previous_secret" varchar(100) null, "previous_secret_expires_at" timestamptz null, "cursor" bigint not null, "enabled" boolean not null default true, "disabled_reason" text null, "disabled_at" timestamptz null, "failing_since" timestamptz null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "locked_until" timestamptz null, "created_by_user_id" varchar(64) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "webhook_endpoints_organization_id_created_at_index" on "webhook_endpoints" ("organization_id", "created_at");`);
    this.addSql(`create index "webhook_endpoints_next_attempt_at_index" on "webhook_endpoints" ("next_attempt_at");`);
    this.addSql(`create table "webhook_deliveries" ("id" bigserial primary key, "endpoint_id" varchar(64) not null, "event_id" bigint not null, "attempt" int not null, "redelivery" boolean not null default false, "status" varchar(16) not null, "response_status" int null, "duration_ms" int null, "error" text null, "attempted_at" timestamptz null, "requested_at" timestamptz not null);`);
    this.addSql(`create index "webhook_deliveries_endpoint_id_id_index" on "webhook_deliveries" ("endpoint_id", "id");`);
    this.addSql(`create index "webhook_deliveries_endpoint_id_status_id_index" on "webhook_deliveries" ("endpoint_id", "status", "id");`);
    this.addSql(`create index "webhook_deliveries_requested_at_index" on "webhook_deliveries" ("requested_at");`);
    this.addSql(`alter table "webhook_endpoints" add constraint "webhook_endpoints_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoints" ("id") on delete cascade;`);
  }

  override down(): void {
    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
    this.addSql(`drop table if exists "webhook_endpoints" cascade;`);
    this.addSql(`drop index if exists "membership_events_organization_id_user_id_id_index";`);
    this.addSql(`drop index if exists "membership_events_organization_id_type_id_index";`);
  }
}
