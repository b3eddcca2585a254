/**
 * Opens the database: real PostgreSQL when a URL is given, otherwise an embedded
 * PGlite (PostgreSQL compiled to WASM) persisted in a data directory.
 */
import { mkdirSync } from 'node:fs';
import { DefaultLogger, type LoggerOptions, type LogContext } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM as PostgresORM, type SqlEntityManager } from '@mikro-orm/postgresql';
import { MikroORM as PgliteORM } from '@mikro-orm/pglite';
import { PGlite } from '@electric-sql/pglite';
import { ALL_ENTITIES } from './all-entities.js';
import { MIGRATIONS } from './migrations/index.js';

export type Em = SqlEntityManager;

/**
 * Raw statements outside any unit of work (`?` placeholders). Read paths use this
 * instead of forking an EntityManager per request: no identity map to build or collect.
 */
export interface SqlRunner {
  execute<T = Record<string, unknown>[]>(query: string, params?: readonly unknown[]): Promise<T>;
}

/** Receives every SQL statement the ORM sends; used for metrics and the N+1 tests. */
export type StatementObserver = (sql: string) => void;

class ObservingLogger extends DefaultLogger {
  readonly #observe: () => StatementObserver | undefined;
  constructor(options: LoggerOptions, observe: () => StatementObserver | undefined) {
    super(options);
    this.#observe = observe;
  }
  override logQuery(context: { query: string } & LogContext): void {
    const sql = context.query;
    // Only statements that reached the server, not error echoes.
    if (sql && context.level !== 'error') this.#observe()?.(sql);
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
  close(): Promise<void>;
}

const sqlRunner = (orm: PostgresORM | PgliteORM): SqlRunner => {
  const connection = orm.em.getConnection();
  const driver = orm.em.getDriver();
  return {
    // Errors as em.execute throws them (UniqueConstraintViolationException, …), so callers map one kind.
    execute: (query, params = []) =>
      (connection.execute(query, params as unknown[]) as Promise<never>).catch((error: unknown) => {
        throw driver.convertException(error as Error);
      }),
  };
};

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined;
  /** PGlite data directory; `memory://` for a throwaway in-memory database. */
  dataDir?: string;
  poolMax?: number;
}

export const openDatabase = async (options: OpenDatabaseOptions): Promise<Database> => {
  const observers = new Set<StatementObserver>();
  const notify: StatementObserver = (sql) => {
    for (const o of observers) o(sql);
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
    const orm = await PostgresORM.init({
      ...common,
      clientUrl: options.databaseUrl,
      pool: { min: 0, max: options.poolMax ?? 10 },
    });
    return {
      kind: 'postgres',
      orm,
      pglite: undefined,
      databaseUrl: options.databaseUrl,
      em: () => orm.em.fork() as unknown as Em,
      sql: sqlRunner(orm),
      observeStatements,
      close: () => orm.close(),
    };
  }
  const dataDir = options.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory:')) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create({ dataDir });
  const orm = await PgliteORM.init({
    ...common,
    dbName: 'postgres',
    // A function, not the instance: MikroORM deep-copies plain option objects (STACK.md P6).
    driverOptions: { pglite: () => pglite },
  });
  return {
    kind: 'pglite',
    orm,
    pglite,
    databaseUrl: undefined,
    em: () => orm.em.fork() as unknown as Em,
    sql: sqlRunner(orm),
    observeStatements,
    close: async () => {
      await orm.close();
      await pglite.close();
    },
  };
};
