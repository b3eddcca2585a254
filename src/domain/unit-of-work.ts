/**
 * One use case = one transaction. A UnitOfWork carries the transactional
 * EntityManager, the actor, the clock and the membership events to append.
 * Events are appended after the entity changes are flushed, in the same
 * transaction (see events/event-log.ts for the ordering guarantee).
 */
import { DeadlockException, ForeignKeyConstraintViolationException, LockWaitTimeoutException, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Database, Em, SqlRunner } from '../persistence/orm.js';
import { appendEvents, type NewMembershipEvent } from './events/event-log.js';
import { type Actor, actorString, DomainError } from './model/index.js';
import type { Clock } from './runtime.js';

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

export interface TransactionRunner {
  run<T>(actor: Actor, fn: (uow: UnitOfWork) => Promise<T>): Promise<T>;
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
      // Races with a concurrent change (a duplicate insert, a row deleted meanwhile, a
      // deadlock the database broke): the transaction rolled back whole, so a retry is safe.
      if (
        error instanceof UniqueConstraintViolationException ||
        error instanceof ForeignKeyConstraintViolationException ||
        error instanceof DeadlockException ||
        error instanceof LockWaitTimeoutException
      )
        throw new DomainError('CONFLICT', 'This change conflicts with one made at the same time; nothing was changed. Retry it.', {
          constraint: (error as { constraint?: string }).constraint,
        });
      throw error;
    }
  },
  read: (fn) => fn(db.em()),
  now: () => clock.now(),
  sql: db.sql,
});
