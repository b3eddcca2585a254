import { Migration } from '@mikro-orm/migrations';

/**
 * The event log without a writer lock (docs/events.md): an event's id is its transaction's
 * id shifted left by 20 bits plus its place in the transaction, written by the append
 * itself, so the id column loses its sequence. Every id written so far (from the sequence)
 * is below the first id the new scheme can produce; the check refuses to migrate otherwise.
 */
export class Migration0006EventLog extends Migration {
  override async up(): Promise<void> {
    this.addSql(`do $$
begin
  if (select coalesce(max(id), 0) from membership_events) >= (pg_current_xact_id()::text::bigint << 20) then
    raise exception 'membership_events ids are above the transaction-id range; cannot switch the event log to transaction-ordered ids';
  end if;
end $$;`);
    this.addSql(`alter table "membership_events" alter column "id" drop default;`);
    this.addSql(`drop sequence if exists "membership_events_id_seq";`);
  }

  override async down(): Promise<void> {
    this.addSql(`create sequence if not exists "membership_events_id_seq" owned by "membership_events"."id";`);
    this.addSql(`select setval('membership_events_id_seq', greatest((select max(id) from membership_events), 1));`);
    this.addSql(`alter table "membership_events" alter column "id" set default nextval('membership_events_id_seq');`);
  }
}
