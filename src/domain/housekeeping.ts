/**
 * Removes rows whose only purpose has passed, on a timer (every instance; the deletes are
 * idempotent): expired SAML requests and used-assertion records (their expiry is what makes
 * replay impossible without them), email sign-in challenges a day after they expired, and
 * recorded SAML sign-in failures beyond the newest FAILURES_KEPT_PER_CONNECTION per connection.
 * Use cases never prune on their own path, so none of them pays for it.
 */
import type { TransactionRunner } from './unit-of-work.js';

export const FAILURES_KEPT_PER_CONNECTION = 500;
/** Rows one statement deletes at most per run: a backlog is worked off over several runs. */
const BATCH = 5_000;

export class Housekeeping {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  start(): void {
    this.#timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One pass over every table (runs are not concurrent on one instance). */
  runOnce(): Promise<void> {
    this.#running ??= this.#pass()
      .catch((error: unknown) => this.onError(error))
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #pass(): Promise<void> {
    const now = this.tx.now();
    const sql = this.tx.sql;
    await sql.execute(`delete from saml_requests where id in (select id from saml_requests where expires_at < ? limit ${BATCH})`, [now]);
    await sql.execute(`delete from used_assertions where id in (select id from used_assertions where expires_at < ? limit ${BATCH})`, [now]);
    await sql.execute(`delete from email_challenges where id in (select id from email_challenges where expires_at < ? limit ${BATCH})`, [new Date(now.getTime() - 86_400_000)]);
    await sql.execute(
      `delete from saml_sign_in_failures where id in (
         select id from (select id, row_number() over (partition by connection_id order by occurred_at desc, id desc) as n from saml_sign_in_failures) ranked
          where n > ? limit ${BATCH})`,
      [FAILURES_KEPT_PER_CONNECTION],
    );
  }
}
