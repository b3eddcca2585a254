/**
 * One use case = one transaction. A UnitOfWork carries the transactional
 * EntityManager, the actor, the clock and the membership events to append.
 * Events are appended after the entity changes are flushed, in the same
 * transaction (see events/event-log.ts for the ordering guarantee).
 * A hot use case may instead be one write statement (`statement`): its own implicit
 * transaction, no ORM unit of work; error mapping and metrics are the same as `run`'s.
 */
import { DeadlockException, ForeignKeyConstraintViolationException, LockWaitTimeoutException, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Database, Em, SqlRunner } from '../persistence/orm.js';
import { appendEvents, type NewMembershipEvent } from './events/event-log.js';
import { type Actor, actorString, DomainError } from './model/index.js';
import type { Clock } from './runtime.js';
import { unavailableOr } from './unavailable.js';

export class UnitOfWork {
  readonly #events: NewMembershipEvent[] = [];
  readonly #afterCommit: (() => void)[] = [];
  constructor(
    readonly em: Em,
    readonly actor: Actor,
    readonly now: Date,
  ) {}

  get actorName(): string {
    return actorString(this.actor);
  }

  recordEvent(event: Omit<NewMembershipEvent, 'actor'>): void {
    this.#events.push({ ...event, actor: this.actorName });
  }

  get eventCount(): number {
    return this.#events.length;
  }

  /** Runs after a successful commit (e.g. waking the outbox sender). */
  afterCommit(fn: () => void): void {
    this.#afterCommit.push(fn);
  }

  /** @internal */
  async finish(): Promise<void> {
    await this.em.flush();
    await appendEvents(this.em, this.#events, this.now);
  }

  /** @internal */
  committed(): void {
    for (const fn of this.#afterCommit) fn();
  }
}

/** What a single-statement use case gets: the raw runner, its actor and clock. */
export interface StatementScope {
  readonly sql: SqlRunner;
  /** `scim:<tokenId>`, `user:<id>`, …: the actor its events carry. */
  readonly actorName: string;
  readonly now: Date;
}

export interface StatementOutcome<T> {
  value: T;
  /** How many membership events the statement appended (for the metrics). */
  eventsAppended: number;
}

export interface TransactionRunner {
  run<T>(actor: Actor, fn: (uow: UnitOfWork) => Promise<T>): Promise<T>;
  /**
   * A use case that is ONE write statement, run as its own implicit transaction (no
   * begin/commit round trips): `fn` must send exactly one statement through `scope.sql`
   * (reads before it go through `sql`, outside). Errors map as in `run`.
   */
  statement<T>(actor: Actor, fn: (scope: StatementScope) => Promise<StatementOutcome<T>>): Promise<T>;
  /** A read-only context outside any transaction. */
  read<T>(fn: (em: Em) => Promise<T>): Promise<T>;
  /** The runner's clock (for single statements that run outside `run`). */
  now(): Date;
  /** Single raw statements outside any transaction (hot read paths). */
  readonly sql: SqlRunner;
}

export interface TransactionHooks {
  /** Called after a commit that appended membership events. */
  eventsAppended?: (count: number) => void;
}

/**
 * Races with a concurrent change (a duplicate insert, a row deleted meanwhile, a deadlock
 * the database broke): the transaction rolled back whole, so a retry is safe.
 */
const raceConflict = (thrown: unknown, error = unavailableOr(thrown)): unknown =>
  error instanceof UniqueConstraintViolationException ||
  error instanceof ForeignKeyConstraintViolationException ||
  error instanceof DeadlockException ||
  error instanceof LockWaitTimeoutException
    ? new DomainError('CONFLICT', 'This change conflicts with one made at the same time; nothing was changed. Retry it.', {
        constraint: (error as { constraint?: string }).constraint,
      })
    : error;

export const createTransactionRunner = (db: Database, clock: Clock, hooks: TransactionHooks = {}): TransactionRunner => ({
  async run(actor, fn) {
    let uow: UnitOfWork | undefined;
    try {
      const result = await db.em().transactional(async (em) => {
        uow = new UnitOfWork(em as Em, actor, clock.now());
        const r = await fn(uow);
        await uow.finish();
        return r;
      });
      if (uow) {
        if (uow.eventCount) hooks.eventsAppended?.(uow.eventCount);
        uow.committed();
      }
      return result;
    } catch (error) {
      throw raceConflict(error);
    }
  },
  async statement(actor, fn) {
    try {
      const { value, eventsAppended } = await fn({ sql: db.sql, actorName: actorString(actor), now: clock.now() });
      if (eventsAppended) hooks.eventsAppended?.(eventsAppended);
      return value;
    } catch (error) {
      throw raceConflict(error);
    }
  },
  read: (fn) => fn(db.em()),
  now: () => clock.now(),
  sql: db.sql,
});
