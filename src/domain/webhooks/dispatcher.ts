/**
 * Delivers membership events to webhook endpoints (SPEC §10), driven from the event log by a
 * cursor per endpoint: no queue besides the log, no broker.
 *
 * - Claim: an endpoint with work (events past its cursor, or a requested redelivery) is
 *   leased (`locked_until`) in one statement whose subquery takes `for update skip locked`,
 *   so instances sharing the database never work on one endpoint at the same time. Every
 *   write while working is guarded by that lease; one that finds the lease gone (expired and
 *   taken over, the endpoint deleted or disabled) stops the work.
 * - Order: events are read through the event log's `readEventsAfter` (the reader subscription
 *   replay uses, which is where gap-free reading is guaranteed) and sent one at a time in id
 *   order. The cursor moves past an event only once it was delivered (a 2xx) or is not of a
 *   selected type; a failure keeps the cursor, so that event is retried before any later one.
 * - At least once: deliveries are recorded and the cursor saved in slices (at most 50 events
 *   or 200 ms); a crash before a slice is saved sends those events again (same `webhook-id`).
 * - Retries: exponential backoff (5 s doubling, at most 1 h) for the event at the head; once
 *   it has failed for `retryWindowMs` (24 h) the endpoint is disabled with the reason.
 * - Isolation: at most `concurrency` endpoints are worked on at a time per instance, each
 *   request has the HTTP client's deadline, a failing endpoint waits out its backoff without
 *   holding a slot, and new sends stop once half the lease is gone (so a batch never outlives it).
 * - Wake-up: the event bus's notification (`wake()`) and a periodic poll, which also picks up
 *   endpoints whose backoff has passed.
 */
import type { Database } from '../../persistence/orm.js';
import { type MembershipEventRecord, readEventsAfter } from '../events/event-log.js';
import type { MembershipEventType } from '../model/index.js';
import { type Clock, systemClock } from '../runtime.js';
import { dateFromDb } from '../../persistence/timestamps.js';
import type { Row } from './rows.js';
import { webhookBody, webhookHeaders } from './signing.js';
import type { WebhookHttp } from './types.js';

export type DeliveryOutcome = 'success' | 'http_error' | 'network_error';

export interface WebhookDispatcherLog {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WebhookDispatcherOptions {
  db: Database;
  http: WebhookHttp;
  log: WebhookDispatcherLog;
  clock?: Clock;
  /** Endpoints worked on at the same time by this instance. Default 16. */
  concurrency?: number;
  /** Poll period; `wake()` shortcuts it. Default 5 s. */
  pollIntervalMs?: number;
  /** Lease on a claimed endpoint; must well exceed the HTTP deadline. Default 60 s. */
  leaseMs?: number;
  /** Events read from the log at a time per endpoint. Default 100. */
  batchSize?: number;
  /** How long the head event is retried before the endpoint is disabled. Default 24 h. */
  retryWindowMs?: number;
  /** How long delivery attempts are kept. Default 30 days. */
  retentionMs?: number;
  /** Delay after the n-th failed attempt (1-based). Default 5 s doubling, at most 1 h. */
  backoffMs?: (attempt: number) => number;
  stats?: { attempted(outcome: DeliveryOutcome): void };
}

interface Claimed {
  id: string;
  organizationId: string;
  url: string;
  eventTypes: Set<MembershipEventType>;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  cursor: string;
  enabled: boolean;
  attempts: number;
  failingSince: Date | null;
  nextAttemptAt: Date;
  hasPending: boolean;
}

interface Attempt {
  ok: boolean;
  status: number | null;
  durationMs: number;
  error: string | null;
}

const MAX_ERROR_LENGTH = 1000;
/** Delivered events recorded per statement at most, and the longest a delivery waits to be recorded. */
const SLICE_SIZE = 50;
const SLICE_MS = 200;

interface Delivered {
  eventId: string;
  attempt: number;
  status: number;
  durationMs: number;
  at: Date;
}
const REDELIVERIES_PER_CLAIM = 10;

export const defaultWebhookBackoff = (attempt: number): number => Math.min(5_000 * 2 ** (attempt - 1), 3_600_000);

const claimed = (r: Row): Claimed => ({
  id: r.id as string,
  organizationId: r.organization_id as string,
  url: r.url as string,
  eventTypes: new Set(typeof r.event_types === 'string' ? (JSON.parse(r.event_types) as MembershipEventType[]) : (r.event_types as MembershipEventType[])),
  secret: r.secret as string,
  previousSecret: (r.previous_secret as string | null) ?? null,
  previousSecretExpiresAt: r.previous_secret_expires_at == null ? null : dateFromDb(r.previous_secret_expires_at),
  cursor: String(r.cursor),
  enabled: Boolean(r.enabled),
  attempts: Number(r.attempts),
  failingSince: r.failing_since == null ? null : dateFromDb(r.failing_since),
  nextAttemptAt: dateFromDb(r.next_attempt_at),
  hasPending: Boolean(r.has_pending),
});

export class WebhookDispatcher {
  readonly #db: Database;
  readonly #http: WebhookHttp;
  readonly #log: WebhookDispatcherLog;
  readonly #clock: Clock;
  readonly #concurrency: number;
  readonly #pollIntervalMs: number;
  readonly #leaseMs: number;
  readonly #batchSize: number;
  readonly #retryWindowMs: number;
  readonly #retentionMs: number;
  readonly #backoffMs: (attempt: number) => number;
  readonly #stats: NonNullable<WebhookDispatcherOptions['stats']>;

  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #claiming: Promise<void> | undefined;
  #again = false;
  /** The last claim filled every free slot: a finished endpoint frees one for those left waiting. */
  #saturated = false;
  readonly #working = new Set<Promise<void>>();
  #lastPrune = 0;
  /** Whether any endpoint existed at the last poll (or was created here since). */
  #endpointsExist = false;

  constructor(o: WebhookDispatcherOptions) {
    this.#db = o.db;
    this.#http = o.http;
    this.#log = o.log;
    this.#clock = o.clock ?? systemClock;
    this.#concurrency = o.concurrency ?? 16;
    this.#pollIntervalMs = o.pollIntervalMs ?? 5_000;
    this.#leaseMs = o.leaseMs ?? 60_000;
    this.#batchSize = o.batchSize ?? 100;
    this.#retryWindowMs = o.retryWindowMs ?? 24 * 3600 * 1000;
    this.#retentionMs = o.retentionMs ?? 30 * 24 * 3600 * 1000;
    this.#backoffMs = o.backoffMs ?? defaultWebhookBackoff;
    this.#stats = o.stats ?? { attempted: () => undefined };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    // unref: a pending poll must not keep the process (CLI, tests) alive.
    this.#timer = setInterval(() => void this.#poll(), this.#pollIntervalMs).unref();
    void this.#poll();
  }

  /** An endpoint was created or re-enabled here: claim without waiting for the poll. */
  endpointsChanged(): void {
    this.#endpointsExist = true;
    this.wake();
  }

  /**
   * The poll: learns whether any endpoint exists (one created on another instance is seen
   * here within a poll), then looks for work. Without endpoints, notifications cost nothing.
   */
  async #poll(): Promise<void> {
    if (!this.#running) return;
    try {
      const [row] = await this.#db.sql.execute<{ e: boolean }[]>('select exists (select 1 from webhook_endpoints) as e');
      this.#endpointsExist = Boolean(row?.e);
    } catch (error) {
      this.#log.error({ err: error }, 'checking for webhook endpoints failed');
    }
    this.wake();
  }

  /** Looks for work now (after a commit, a notification, a finished endpoint). No-op unless started. */
  wake(): void {
    if (!this.#running || !this.#endpointsExist) return;
    if (this.#claiming) {
      this.#again = true;
      return;
    }
    this.#claiming = this.#fill()
      .catch((error: unknown) => this.#log.error({ err: error }, 'claiming webhook endpoints failed'))
      .finally(() => {
        this.#claiming = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  /** Stops claiming and waits for the endpoints being worked on (each bounded by the HTTP deadline). */
  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#timer);
    await this.#claiming;
    await Promise.all(this.#working);
  }

  /** Claims endpoints with work while slots are free, and starts working on each. */
  async #fill(): Promise<void> {
    for (;;) {
      this.#again = false;
      const free = this.#concurrency - this.#working.size;
      if (free <= 0 || !this.#running) return;
      const now = this.#clock.now();
      const lease = new Date(now.getTime() + this.#leaseMs);
      const rows = await this.#db.sql.execute<Row[]>(
        `update webhook_endpoints w set locked_until = ?
          where w.id in (
            select c.id from webhook_endpoints c
             where (c.locked_until is null or c.locked_until < ?)
               and ((c.enabled and c.next_attempt_at <= ?
                     and exists (select 1 from membership_events e where e.organization_id = c.organization_id and e.id > c.cursor))
                    or exists (select 1 from webhook_deliveries d where d.endpoint_id = c.id and d.status = 'PENDING'))
             order by c.next_attempt_at
             limit ?
             for update skip locked)
          returning id, organization_id, url, event_types, secret, previous_secret, previous_secret_expires_at, cursor::text as cursor,
                    enabled, attempts, failing_since, next_attempt_at,
                    exists (select 1 from webhook_deliveries d where d.endpoint_id = w.id and d.status = 'PENDING') as has_pending`,
        [lease, now, now, free],
      );
      this.#saturated = rows.length === free;
      for (const row of rows) {
        let progressed = false;
        const work: Promise<void> = this.#work(claimed(row), now, lease)
          .then((p) => {
            progressed = p;
          })
          .catch((error: unknown) => this.#log.error({ err: error, endpointId: row.id }, 'webhook delivery failed unexpectedly'))
          .finally(() => {
            this.#working.delete(work);
            // More may be waiting (a batch cut short by the lease); an endpoint that had
            // nothing to do does not trigger another claim, so a stale hint cannot spin.
            if (progressed || this.#saturated) this.wake();
          });
        this.#working.add(work);
      }
      if (rows.length < free && !this.#again) break;
    }
    await this.#pruneDeliveries();
  }

  /** Deletes finished attempts older than the retention, at most hourly and in slices. */
  async #pruneDeliveries(): Promise<void> {
    const now = this.#clock.now().getTime();
    // A clock that went back (or a test's) prunes again rather than waiting for it to catch up.
    if (now >= this.#lastPrune && now - this.#lastPrune < 3_600_000) return;
    this.#lastPrune = now;
    await this.#db.sql.execute(
      `delete from webhook_deliveries where id in (
         select id from webhook_deliveries where requested_at < ? and status <> 'PENDING' order by requested_at limit 10000)`,
      [new Date(now - this.#retentionMs)],
    );
  }

  /** Works on one leased endpoint; returns whether anything was sent or skipped. */
  async #work(ep: Claimed, claimedAt: Date, lease: Date): Promise<boolean> {
    const stopBy = claimedAt.getTime() + this.#leaseMs / 2;
    const late = () => this.#clock.now().getTime() > stopBy;
    const em = this.#db.em();
    let progressed = false;

    // Requested redeliveries: one attempt each, apart from the endpoint's order and backoff.
    const pending = !ep.hasPending ? [] : await this.#db.sql.execute<Row[]>(
      `select id::text as id, event_id::text as event_id from webhook_deliveries where endpoint_id = ? and status = 'PENDING' order by webhook_deliveries.id limit ${REDELIVERIES_PER_CLAIM}`,
      [ep.id],
    );
    for (const p of pending) {
      if (late()) break;
      const eventId = p.event_id as string;
      const [event] = await readEventsAfter(em, { after: (BigInt(eventId) - 1n).toString(), organizationId: ep.organizationId, limit: 1 });
      const attempt: Attempt =
        event?.id === eventId ? await this.#send(ep, event) : { ok: false, status: null, durationMs: 0, error: 'The event is no longer in the log.' };
      await this.#db.sql.execute(
        `update webhook_deliveries set status = ?, response_status = ?, duration_ms = ?, error = ?, attempted_at = ? where id = ? and status = 'PENDING'`,
        [attempt.ok ? 'SUCCEEDED' : 'FAILED', attempt.status, attempt.durationMs, attempt.error, this.#clock.now(), p.id],
      );
      progressed = true;
    }

    let cursor = ep.cursor;
    if (ep.enabled && ep.nextAttemptAt.getTime() <= this.#clock.now().getTime()) {
      let attempts = ep.attempts;
      // Successes are recorded (and the cursor saved) in slices, one statement per slice: a
      // crash before a slice is saved sends those events again, which at-least-once allows.
      let delivered: Delivered[] = [];
      let sliceStarted = 0;
      const save = async (): Promise<boolean> => {
        if (delivered.length === 0) return true;
        const ok = await this.#recordSuccesses(ep, delivered, cursor, lease);
        delivered = [];
        return ok;
      };
      // Reads on while the log has more (a burst is served without a new claim per event).
      read: while (!late()) {
        const events = await readEventsAfter(em, { after: cursor, organizationId: ep.organizationId, limit: this.#batchSize });
        if (events.length === 0) break;
        for (const event of events) {
          if (late()) break read;
          progressed = true;
          if (!ep.eventTypes.has(event.type)) {
            cursor = event.id;
            continue;
          }
          const attempt = await this.#send(ep, event);
          attempts += 1;
          if (attempt.ok) {
            cursor = event.id;
            if (delivered.length === 0) sliceStarted = performance.now();
            delivered.push({ eventId: event.id, attempt: attempts, status: attempt.status!, durationMs: attempt.durationMs, at: this.#clock.now() });
            attempts = 0;
            if ((delivered.length >= SLICE_SIZE || performance.now() - sliceStarted >= SLICE_MS) && !(await save())) return progressed;
          } else {
            if (!(await save())) return progressed;
            // Released in the same statement; the event stays at the head for the next attempt.
            await this.#recordFailure(ep, event, cursor, attempts, attempt, lease);
            return progressed;
          }
        }
      }
      if (!(await save())) return progressed;
    }
    await this.#db.sql.execute(`update webhook_endpoints set locked_until = null, cursor = greatest(cursor, ?::bigint) where id = ? and locked_until = ?`, [
      cursor,
      ep.id,
      lease,
    ]);
    return progressed;
  }

  async #send(ep: Claimed, event: MembershipEventRecord): Promise<Attempt> {
    const now = this.#clock.now();
    const secrets = [ep.secret];
    if (ep.previousSecret && ep.previousSecretExpiresAt && ep.previousSecretExpiresAt.getTime() > now.getTime()) secrets.push(ep.previousSecret);
    const body = webhookBody(event);
    const started = performance.now();
    let attempt: Attempt;
    try {
      const { status } = await this.#http.post(ep.url, webhookHeaders(secrets, event.id, now, body), body);
      const ok = status >= 200 && status < 300;
      attempt = { ok, status, durationMs: Math.round(performance.now() - started), error: ok ? null : `The receiver answered HTTP ${status}.` };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      attempt = { ok: false, status: null, durationMs: Math.round(performance.now() - started), error: message.slice(0, MAX_ERROR_LENGTH) };
    }
    this.#stats.attempted(attempt.ok ? 'success' : attempt.status !== null ? 'http_error' : 'network_error');
    return attempt;
  }

  /** Records delivered events and moves the cursor; false when the lease is gone (or the endpoint was disabled or deleted). */
  async #recordSuccesses(ep: Claimed, delivered: Delivered[], cursor: string, lease: Date): Promise<boolean> {
    const rows = await this.#db.sql.execute<Row[]>(
      `with recorded as (
         insert into webhook_deliveries (endpoint_id, event_id, attempt, status, response_status, duration_ms, attempted_at, requested_at)
         select w.id, d.event_id, d.attempt, 'SUCCEEDED', d.status, d.duration_ms, d.at, d.at
           from webhook_endpoints w cross join jsonb_to_recordset(?::jsonb) as d(event_id bigint, attempt int, status int, duration_ms int, at timestamptz)
          where w.id = ? order by d.event_id)
       update webhook_endpoints set cursor = greatest(cursor, ?::bigint), attempts = 0, failing_since = null
        where id = ? and locked_until = ? and enabled returning id`,
      [
        JSON.stringify(delivered.map((d) => ({ event_id: d.eventId, attempt: d.attempt, status: d.status, duration_ms: d.durationMs, at: d.at.toISOString() }))),
        ep.id,
        cursor,
        ep.id,
        lease,
      ],
    );
    if (rows.length === 0) this.#log.warn({ endpointId: ep.id, cursor }, 'webhook endpoint lease lost, disabled or deleted while delivering; stopping');
    return rows.length > 0;
  }

  async #recordFailure(ep: Claimed, event: MembershipEventRecord, cursor: string, attempt: number, a: Attempt, lease: Date): Promise<void> {
    const now = this.#clock.now();
    // The head event is the one the endpoint was already failing on unless the cursor moved in this claim.
    const since = cursor === ep.cursor && ep.failingSince ? ep.failingSince : now;
    const giveUp = now.getTime() - since.getTime() >= this.#retryWindowMs;
    const next = new Date(now.getTime() + Math.max(0, this.#backoffMs(attempt)));
    const reason = giveUp
      ? `Disabled at ${now.toISOString()}: event ${event.id} could not be delivered for ${Math.round((now.getTime() - since.getTime()) / 3_600_000)} hours ` +
        `(${attempt} attempts; last: ${a.error ?? 'failed'}). Fix the receiver, then re-enable the endpoint (updateWebhookEndpoint with enabled: true); it resumes at that event.`
      : null;
    await this.#db.sql.execute(
      `with recorded as (
         insert into webhook_deliveries (endpoint_id, event_id, attempt, status, response_status, duration_ms, error, attempted_at, requested_at)
         select id, ?, ?, 'FAILED', ?, ?, ?, ?, ? from webhook_endpoints where id = ?)
       update webhook_endpoints set cursor = ?, attempts = ?, failing_since = ?, next_attempt_at = ?, locked_until = null,
              enabled = enabled and not ?, disabled_reason = coalesce(?, disabled_reason), disabled_at = case when ? then ?::timestamptz else disabled_at end
        where id = ? and locked_until = ? and enabled`,
      [event.id, attempt, a.status, a.durationMs, a.error, now, now, ep.id, cursor, attempt, since, next, giveUp, reason, giveUp, now, ep.id, lease],
    );
    if (giveUp) {
      this.#log.warn({ endpointId: ep.id, eventId: event.id, error: a.error }, 'webhook endpoint disabled after its retry window');
    }
  }
}
