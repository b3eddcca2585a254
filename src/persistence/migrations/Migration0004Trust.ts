import { Migration } from '@mikro-orm/migrations';

/**
 * Sessions record how their user proved who they are (docs/trust.md). Sessions made before
 * this had no such record, and a SAML sign-in then vouched for the whole identity, so none
 * of them can be given a safe scope:
 * - the API token `orgway bootstrap` printed (its JOINED event has actor `cli`) becomes OPERATOR;
 * - every other session and API token is revoked: users sign in again and re-create API tokens.
 */
export class Migration0004Trust extends Migration {
  override up(): void {
    this.addSql(`alter table "sessions" add column "authentications" jsonb not null default '[]';`);
    this.addSql(`alter table "organizations" add column "require_sso" boolean not null default false;`);
    this.addSql(`alter table "saml_requests" add column "session_id" varchar(64) null;`);
    this.addSql(`update "sessions" s set "authentications" = '["OPERATOR"]'
       where s.kind = 'API_TOKEN' and s.name = 'bootstrap ' || s.current_organization_id
         and exists (select 1 from membership_events e
                      where e.organization_id = s.current_organization_id and e.user_id = s.user_id
                        and e.type = 'JOINED' and e.actor = 'cli');`);
    this.addSql(`update "sessions" set "revoked_at" = now() where "revoked_at" is null and "authentications" = '[]';`);
  }

  override down(): void {
    this.addSql(`alter table "saml_requests" drop column "session_id";`);
    this.addSql(`alter table "organizations" drop column "require_sso";`);
    this.addSql(`alter table "sessions" drop column "authentications";`);
  }
}
