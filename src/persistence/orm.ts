/**
 * Opens the database: real PostgreSQL when a URL is given, otherwise an embedded
 * PGlite (PostgreSQL compiled to WASM) persisted in a data directory.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { DefaultLogger, type LoggerOptions, type LogContext } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM as PostgresORM, type SqlEntityManager } from '@mikro-orm/postgresql';
import { MikroORM as PgliteORM } from '@mikro-orm/pglite';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { ALL_ENTITIES } from './all-entities.js';
import { MIGRATIONS } from './migrations/index.js';

export type Em = SqlEntityManager;

/**
 * Raw statements outside any unit of work (`?` placeholders). Read paths use this
 * instead of forking an EntityManager per request: no identity map to build or collect.
 */
export interface SqlRunner {
  execute<T = Record<string, unknown>[]>(query: string, params?: readonly unknown[]): Promise<T>;
  /**
   * The same, as a statement PostgreSQL parses and plans once per connection and then
   * reuses. For the hottest statements (authentication, the Viewer page): on a small
   * machine planning them cost as much as running them. Only for statements whose
   * text comes from the code (each distinct text stays prepared on every connection).
   */
  prepared?<T = Record<string, unknown>[]>(query: string, params?: readonly unknown[]): Promise<T>;
}

/** `runner.prepared` where the runner has it (the pool's runner on PostgreSQL), else `execute`. */
export const executePrepared = <T = Record<string, unknown>[]>(runner: SqlRunner, query: string, params?: readonly unknown[]): Promise<T> =>
  runner.prepared ? runner.prepared<T>(query, params) : runner.execute<T>(query, params);

/** Receives every SQL statement the ORM sends; used for metrics and the N+1 tests. */
/** `background`: sent by work started under asBackground (pollers, listeners, timed jobs), not by a request. */
export type StatementObserver = (sql: string, origin: { readonly background: boolean }) => void;

const backgroundWork = new AsyncLocalStorage<true>();
/**
 * Starts work whose statements are the gateway's own, not a request's: everything `start`
 * schedules (timers, listener connections, their callbacks) carries the mark, so statement
 * observers can tell a request's statements from a poll that happened to run meanwhile.
 */
export const asBackground = <T>(start: () => T): T => backgroundWork.run(true, start);
const origin = (): { background: boolean } => ({ background: backgroundWork.getStore() === true });

class ObservingLogger extends DefaultLogger {
  readonly #observe: () => StatementObserver | undefined;
  constructor(options: LoggerOptions, observe: () => StatementObserver | undefined) {
    super(options);
    this.#observe = observe;
  }
  override logQuery(context: { query: string } & LogContext): void {
    const sql = context.query;
    // Only statements that reached the server, not error echoes.
    if (sql && context.level !== 'error') this.#observe()?.(sql, origin());
    super.logQuery(context);
  }
}

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly orm: PostgresORM | PgliteORM;
  /** The embedded instance, when there is one (events then travel through `pglite.listen`). */
  readonly pglite: PGlite | undefined;
  readonly databaseUrl: string | undefined;
  em(): Em;
  /** Raw statements on the pool, outside any transaction. */
  readonly sql: SqlRunner;
  /** Adds a statement observer; returns a function that removes it. */
  observeStatements(observer: StatementObserver): () => void;
  /** The pg pool itself (PostgreSQL only), for libraries that speak pg (the rate-limit store). */
  readonly pgPool: (() => Promise<import('pg').Pool>) | undefined;
  close(): Promise<void>;
}

/** `?` placeholders as `$1, $2, …` (outside quoted literals), as MikroORM sends them. */
const numberedPlaceholders = (query: string): string => {
  let n = 0;
  let out = '';
  let quoted = false;
  for (const ch of query) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
};

interface PreparedText {
  name: string;
  text: string;
}

const sqlRunner = (orm: PostgresORM | PgliteORM, observe: () => StatementObserver | undefined, named = true): SqlRunner => {
  const connection = orm.em.getConnection();
  const driver = orm.em.getDriver();
  // Errors as em.execute throws them (UniqueConstraintViolationException, …), so callers map one kind.
  const execute = <T>(query: string, params: readonly unknown[] = []): Promise<T> =>
    (connection.execute(query, params as unknown[]) as Promise<T>).catch((error: unknown) => {
      throw driver.convertException(error as Error);
    });
  if (!(orm instanceof PostgresORM) || !named) return { execute, prepared: execute };
  // MikroORM's own pg pool (same connections, type parsers and limits), with pg's named
  // statements: pg parses a name once per connection and reuses it after.
  const pool = (connection as unknown as { getNativeClient(): Promise<import('pg').Pool> }).getNativeClient();
  const texts = new Map<string, PreparedText>();
  const prepared = async <T>(query: string, params: readonly unknown[] = []): Promise<T> => {
    let p = texts.get(query);
    if (!p) texts.set(query, (p = { name: `ogw_${createHash('sha256').update(query).digest('hex').slice(0, 24)}`, text: numberedPlaceholders(query) }));
    try {
      const result = await (await pool).query({ name: p.name, text: p.text, values: params as unknown[] });
      observe()?.(query, origin());
      return result.rows as T;
    } catch (error) {
      throw driver.convertException(error as Error);
    }
  };
  return { execute, prepared };
};

/** Time limits on every PostgreSQL path, so that nothing waits forever on a database that does not answer. */
export interface DatabaseLimits {
  /** Opening a connection (TCP, TLS, start-up) gives up after this long. */
  connectTimeoutMs: number;
  /** Waiting for a pooled connection (all busy) gives up after this long. */
  acquireTimeoutMs: number;
  /** PostgreSQL cancels a statement after this long (statement_timeout). */
  statementTimeoutMs: number;
}

export const DEFAULT_DATABASE_LIMITS: DatabaseLimits = { connectTimeoutMs: 5_000, acquireTimeoutMs: 10_000, statementTimeoutMs: 15_000 };

/** The client gives up on a connection this long after PostgreSQL should have cancelled the statement itself. */
const CLIENT_TIMEOUT_MARGIN_MS = 2_000;

/** Raised when PostgreSQL has not answered a statement in time (the connection is then closed). */
export class DatabaseTimeoutError extends Error {
  override readonly name = 'DatabaseTimeoutError';
}

interface GuardedClientOptions extends pg.ClientConfig {
  /** No answer to a statement for this long: the connection is destroyed. */
  guardTimeoutMs?: number;
  /** Opening the connection gives up after this long (the pool's `connectionTimeoutMillis` is its acquire timeout). */
  connectTimeoutMs?: number;
}

/**
 * A pg client whose every statement has a deadline. A network path that stops forwarding
 * (no reset, no FIN) would otherwise leave a statement waiting for ever, and with it the
 * pooled connection; on the deadline the socket is destroyed, so the statement fails, the
 * pool discards the connection and the next one is opened fresh.
 */
export class GuardedClient extends pg.Client {
  readonly #timeoutMs: number;
  #timedOut = false;
  constructor(config: GuardedClientOptions) {
    const { guardTimeoutMs, connectTimeoutMs, ...rest } = config;
    super(connectTimeoutMs === undefined ? rest : { ...rest, connectionTimeoutMillis: connectTimeoutMs });
    this.#timeoutMs = guardTimeoutMs ?? 0;
  }

  #watch(): () => void {
    if (this.#timeoutMs <= 0) return () => undefined;
    const timer = setTimeout(() => {
      this.#timedOut = true;
      (this as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    }, this.#timeoutMs);
    return () => clearTimeout(timer);
  }

  #explain(error: unknown): unknown {
    return this.#timedOut ? new DatabaseTimeoutError(`PostgreSQL did not answer within ${this.#timeoutMs} ms; the connection was closed`, { cause: error }) : error;
  }

  /** Ending waits for the server to close the connection, which a path that stopped forwarding never does: bounded too. */
  override end(): Promise<void>;
  override end(callback: (error: Error) => void): void;
  override end(callback?: (error: Error) => void): Promise<void> | void {
    const timer = setTimeout(() => (this as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy(), this.#timeoutMs > 0 ? this.#timeoutMs : 5_000);
    timer.unref();
    this.once('end', () => clearTimeout(timer));
    return callback ? super.end(callback) : super.end();
  }

  override query(...args: unknown[]): never {
    const query = (super.query as (...a: unknown[]) => unknown).bind(this);
    const last = args.at(-1);
    if (typeof last === 'function') {
      const done = this.#watch();
      args[args.length - 1] = (error: unknown, ...rest: unknown[]) => {
        done();
        (last as (...a: unknown[]) => void)(error ? this.#explain(error) : error, ...rest);
      };
      return query(...args) as never;
    }
    const result = query(...args);
    if (!(result instanceof Promise)) return result as never; // a submittable (cursor): its own consumer
    const done = this.#watch();
    return result.then(
      (r) => {
        done();
        return r;
      },
      (error: unknown) => {
        done();
        throw this.#explain(error);
      },
    ) as never;
  }
}

/** pg options (for the pool or one client) that put deadlines on every path. */
export const guardedClientOptions = (limits: DatabaseLimits, options: { startupTimeouts?: boolean } = {}) => ({
  Client: GuardedClient,
  keepAlive: true,
  // pg-pool: waiting for a connection (including opening one); the client: opening one.
  connectionTimeoutMillis: limits.acquireTimeoutMs,
  connectTimeoutMs: limits.connectTimeoutMs,
  guardTimeoutMs: limits.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
  // Start-up parameters (PgBouncer refuses unknown ones unless told to ignore them).
  ...(options.startupTimeouts === false
    ? {}
    : { statement_timeout: limits.statementTimeoutMs, idle_in_transaction_session_timeout: limits.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS }),
});

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined;
  /** PGlite data directory; `memory://` for a throwaway in-memory database. */
  dataDir?: string;
  poolMax?: number;
  limits?: DatabaseLimits;
  /** Named prepared statements for the hottest queries (off behind a transaction-mode pooler). Default true. */
  preparedStatements?: boolean;
  /** DATABASE_URL goes through a transaction-mode pooler: no start-up parameters it would refuse. */
  transactionPooler?: boolean;
}

/**
 * Closes the pool, waiting for connections in use as long as a statement may run. pg-pool
 * waits for ever for a connection it is still opening over a path that stopped answering;
 * past the deadline every remaining socket is destroyed and close resolves.
 */
const closeBounded = async (orm: PostgresORM, limits: DatabaseLimits): Promise<void> => {
  const pool = (orm.em.getConnection() as unknown as { getNativeClient(): Promise<import('pg').Pool> }).getNativeClient();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      void pool
        .then((p) => {
          for (const c of (p as unknown as { _clients?: { connection?: { stream?: { destroy(): void } } }[] })._clients ?? []) c.connection?.stream?.destroy();
        })
        .finally(resolve);
    }, limits.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS);
    timer.unref();
  });
  try {
    await Promise.race([orm.close(), deadline]);
  } finally {
    clearTimeout(timer);
  }
};

export const openDatabase = async (options: OpenDatabaseOptions): Promise<Database> => {
  const observers = new Set<StatementObserver>();
  const notify: StatementObserver = (sql, from) => {
    for (const o of observers) o(sql, from);
  };
  const observeStatements = (o: StatementObserver) => {
    observers.add(o);
    return () => void observers.delete(o);
  };
  const common = {
    entities: ALL_ENTITIES,
    extensions: [Migrator],
    migrations: { migrationsList: MIGRATIONS, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    discovery: { warnWhenNoEntities: true },
    allowGlobalContext: false,
    debug: false,
    loggerFactory: (o: LoggerOptions) => new ObservingLogger(o, () => (observers.size ? notify : undefined)),
  };
  if (options.databaseUrl) {
    const limits = options.limits ?? DEFAULT_DATABASE_LIMITS;
    const orm = await PostgresORM.init({
      ...common,
      clientUrl: options.databaseUrl,
      pool: { min: 0, max: options.poolMax ?? 10 },
      // A function: MikroORM deep-copies plain option objects, the Client class included.
      driverOptions: () => guardedClientOptions(limits, { startupTimeouts: options.transactionPooler !== true }),
    });
    return {
      kind: 'postgres',
      orm,
      pglite: undefined,
      databaseUrl: options.databaseUrl,
      em: () => orm.em.fork() as unknown as Em,
      sql: sqlRunner(orm, () => (observers.size ? notify : undefined), options.preparedStatements !== false),
      observeStatements,
      pgPool: () => (orm.em.getConnection() as unknown as { getNativeClient(): Promise<import('pg').Pool> }).getNativeClient(),
      close: () => closeBounded(orm, limits),
    };
  }
  const dataDir = options.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory:')) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create({ dataDir });
  const orm = await PgliteORM.init({
    ...common,
    dbName: 'postgres',
    // A function, not the instance: MikroORM deep-copies plain option objects, which breaks instances with private fields.
    driverOptions: { pglite: () => pglite },
  });
  return {
    kind: 'pglite',
    orm,
    pglite,
    databaseUrl: undefined,
    em: () => orm.em.fork() as unknown as Em,
    sql: sqlRunner(orm, () => (observers.size ? notify : undefined)),
    observeStatements,
    pgPool: undefined,
    close: async () => {
      await orm.close();
      await pglite.close();
    },
  };
};
