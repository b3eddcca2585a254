/**
 * Delivers the transactional outbox (outbox.ts). At-least-once: a row is claimed
 * with a lease (`locked_until`) so concurrent gateway instances never send it at the
 * same time, marked sent as soon as SMTP accepts it, and retried with exponential
 * backoff otherwise. The only duplicate left is a crash between "SMTP accepted" and
 * "marked sent"; the deterministic Message-ID lets a receiver drop that one.
 */
import type { Database, Em } from '../../persistence/orm.js';
import { type Clock, systemClock } from '../runtime.js';

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** `<id@host>`; stable across retries of the same row. */
  messageId: string;
}

/** The port the sender needs; adapters/smtp-transport.ts fills it with nodemailer. */
export interface MailTransport {
  /** Resolves once the server accepted the message; rejects otherwise. */
  send(message: MailMessage): Promise<void>;
  close?(): void | Promise<void>;
}

export interface OutboxSenderLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface OutboxSenderOptions {
  db: Database;
  /** `null` (no SMTP_URL): emails are logged instead of sent, and marked sent. */
  transport: MailTransport | null;
  from: string;
  log: OutboxSenderLog;
  clock?: Clock;
  /** Poll period of `start()`; `wake()` shortcuts it after a commit. Default 30 s. */
  pollIntervalMs?: number;
  /**
   * Lease taken on claimed rows. Must exceed the longest single send (the SMTP
   * transport bounds that with its timeouts); rows whose lease is half gone before
   * their turn are released instead of sent. Default 5 min.
   */
  lockMs?: number;
  /** Attempts before a row is given up (left unsent with its last error). Default 8. */
  maxAttempts?: number;
  /** Delay before the next attempt after `attempt` failed (1-based). Default 30 s doubling, at most 1 h. */
  backoffMs?: (attempt: number) => number;
}

export interface DeliveryResult {
  sent: number;
  failed: number;
}

interface PassResult extends DeliveryResult {
  claimed: number;
}

/** Columns of `outbox_emails` as raw SQL returns them. */
interface OutboxRow {
  id: string;
  kind: string;
  to_address: string;
  subject: string;
  text_body: string;
  attempts: number;
}

const BATCH_SIZE = 20;
const MAX_ERROR_LENGTH = 2000;

const defaultBackoff = (attempt: number): number => Math.min(30_000 * 2 ** (attempt - 1), 3_600_000);

export const messageIdFor = (emailId: string): string => `<${emailId}@orgway>`;

export class OutboxSender {
  readonly #db: Database;
  readonly #transport: MailTransport | null;
  readonly #from: string;
  readonly #log: OutboxSenderLog;
  readonly #clock: Clock;
  readonly #pollIntervalMs: number;
  readonly #lockMs: number;
  readonly #maxAttempts: number;
  readonly #backoffMs: (attempt: number) => number;

  /** Passes run one after another per instance; this is the tail of that queue. */
  #chain: Promise<unknown> = Promise.resolve();
  #running = false;
  #ticking = false;
  #rerun = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: OutboxSenderOptions) {
    this.#db = options.db;
    this.#transport = options.transport;
    this.#from = options.from;
    this.#log = options.log;
    this.#clock = options.clock ?? systemClock;
    this.#pollIntervalMs = options.pollIntervalMs ?? 30_000;
    this.#lockMs = options.lockMs ?? 300_000;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#backoffMs = options.backoffMs ?? defaultBackoff;
  }

  /** Starts polling; rows enqueued by another instance are picked up within one interval. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Runs a pass soon (after a commit that enqueued mail). No-op unless started. */
  wake(): void {
    if (!this.#running) return;
    if (this.#ticking) this.#rerun = true;
    else this.#schedule(0);
  }

  /** One delivery pass over the due rows (at most one batch). */
  async deliverDue(): Promise<DeliveryResult> {
    const { sent, failed } = await this.#enqueuePass();
    return { sent, failed };
  }

  /** Stops polling and waits for the pass in flight, so the database can be closed after. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#chain;
  }

  #enqueuePass(): Promise<PassResult> {
    const pass = this.#chain.then(() => this.#pass());
    this.#chain = pass.catch(() => undefined);
    return pass;
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    // unref: a pending poll must not keep the process (CLI, tests) alive.
    this.#timer = setTimeout(() => void this.#tick(), ms).unref();
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (!this.#running) return;
    this.#ticking = true;
    try {
      let result: PassResult;
      do {
        this.#rerun = false;
        result = await this.#enqueuePass();
        // A full batch means more may be due; a wake during the pass may have enqueued more.
      } while (this.#running && (this.#rerun || result.claimed === BATCH_SIZE));
    } catch (error) {
      this.#log.error({ err: error }, 'outbox delivery pass failed');
    } finally {
      this.#ticking = false;
      if (this.#running) this.#schedule(this.#rerun ? 0 : this.#pollIntervalMs);
    }
  }

  async #pass(): Promise<PassResult> {
    const em = this.#db.em();
    const claimedAt = this.#clock.now();
    const lockedUntil = new Date(claimedAt.getTime() + this.#lockMs);
    const rows = await this.#claim(em, claimedAt, lockedUntil);
    const result: PassResult = { sent: 0, failed: 0, claimed: rows.length };
    // Stop starting sends once half the lease is gone, so a slow batch cannot outlive
    // its lease and let another instance send the same row concurrently.
    const startBy = claimedAt.getTime() + this.#lockMs / 2;
    for (const [index, row] of rows.entries()) {
      if (this.#clock.now().getTime() > startBy) {
        await this.#release(em, rows.slice(index), lockedUntil);
        break;
      }
      if (await this.#deliver(em, row, lockedUntil)) result.sent++;
      else result.failed++;
    }
    return result;
  }

  /** Leases up to one batch of due rows in one statement; `skip locked` keeps concurrent claimers apart. */
  #claim(em: Em, now: Date, lockedUntil: Date): Promise<OutboxRow[]> {
    return em.execute<OutboxRow[]>(
      `update outbox_emails set locked_until = ?, attempts = attempts + 1
        where id in (
          select id from outbox_emails
           where sent_at is null and next_attempt_at <= ? and (locked_until is null or locked_until < ?) and attempts < ?
           order by next_attempt_at
           limit ${BATCH_SIZE}
           for update skip locked)
        returning id, kind, to_address, subject, text_body, attempts`,
      [lockedUntil, now, now, this.#maxAttempts],
    );
  }

  /** Hands back rows that were claimed but not attempted; their attempt is not counted. */
  async #release(em: Em, rows: OutboxRow[], lockedUntil: Date): Promise<void> {
    await em.execute(
      `update outbox_emails set locked_until = null, attempts = attempts - 1
        where id in (select jsonb_array_elements_text(?::jsonb)) and sent_at is null and locked_until = ?`,
      [JSON.stringify(rows.map((r) => r.id)), lockedUntil],
      'run',
    );
  }

  /** Returns whether the row was delivered. */
  async #deliver(em: Em, row: OutboxRow, lockedUntil: Date): Promise<boolean> {
    const message: MailMessage = {
      from: this.#from,
      to: row.to_address,
      subject: row.subject,
      text: row.text_body,
      messageId: messageIdFor(row.id),
    };
    const context = { emailId: row.id, kind: row.kind, to: row.to_address, attempt: row.attempts };
    try {
      if (this.#transport) await this.#transport.send(message);
      else this.#log.info({ ...context, email: message }, 'no SMTP_URL configured: email logged instead of sent');
    } catch (error) {
      await this.#recordFailure(em, row, lockedUntil, error, context);
      return false;
    }
    // Recorded right away: a later failure in this pass must not cause a resend of this row.
    await em.execute(
      'update outbox_emails set sent_at = ?, locked_until = null, last_error = null where id = ? and sent_at is null',
      [this.#clock.now(), row.id],
      'run',
    );
    if (this.#transport) this.#log.info(context, 'email sent');
    return true;
  }

  async #recordFailure(em: Em, row: OutboxRow, lockedUntil: Date, error: unknown, context: object): Promise<void> {
    const lastError = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH);
    const givingUp = row.attempts >= this.#maxAttempts;
    const nextAttemptAt = new Date(this.#clock.now().getTime() + Math.max(0, this.#backoffMs(row.attempts)));
    // `locked_until = ?`: only while we still hold the lease, so we never unlock a row
    // another instance has since claimed. A given-up row keeps next_attempt_at; the claim
    // skips it by its attempt count.
    await em.execute(
      `update outbox_emails set last_error = ?, locked_until = null, next_attempt_at = case when ? then next_attempt_at else ?::timestamptz end
        where id = ? and sent_at is null and locked_until = ?`,
      [lastError, givingUp, nextAttemptAt, row.id, lockedUntil],
      'run',
    );
    if (givingUp) this.#log.error({ ...context, error: lastError }, `email not delivered after ${row.attempts} attempts; giving up`);
    else this.#log.warn({ ...context, error: lastError, nextAttemptAt }, 'email delivery failed; will retry');
  }
}
