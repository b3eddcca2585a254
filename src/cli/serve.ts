import { createContainer, NotMigratedError } from '../app/container.js';
import { buildServer } from '../app/server.js';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { PoolerConfigurationError } from '../persistence/pooler-checks.js';
import { DataDirLockedError, lockDataDir } from './data-dir-lock.js';

/**
 * Extra time, beyond ORGWAY_SHUTDOWN_TIMEOUT_MS, for closing the database. A query still
 * running when the timeout is reached keeps its pool connection (the pool's close waits for
 * it), so the process then exits without waiting further.
 */
const CLOSE_MARGIN_MS = 2_000;

function die(message: string, code: number): never {
  process.stderr.write(`orgway: ${message}\n`);
  process.exit(code);
}

/**
 * Starts the gateway and drains it on SIGTERM/SIGINT.
 * Exit codes: 0 after a drain, 78 bad configuration, 1 start-up failure (unmigrated or
 * unreachable database, port in use) or a drain that did not finish in time.
 */
export const serve = async (options: { migrate?: boolean; config?: Config } = {}): Promise<void> => {
  let config = options.config;
  if (!config) {
    try {
      config = loadConfig();
    } catch (error) {
      if (error instanceof ConfigError) die(error.message, 78);
      throw error;
    }
  }
  if (!config.databaseUrl) {
    try {
      lockDataDir(config.dataDir);
    } catch (error) {
      if (error instanceof DataDirLockedError) die(error.message, 1);
      throw error;
    }
  }
  let container;
  try {
    container = await createContainer(config, options.migrate === undefined ? {} : { migrate: options.migrate });
  } catch (error) {
    if (error instanceof NotMigratedError || error instanceof PoolerConfigurationError) die(error.message, 1);
    const where = config.databaseUrl ? 'the PostgreSQL database in DATABASE_URL' : `the embedded database in ORGWAY_DATA_DIR (${config.dataDir})`;
    die(`cannot open ${where}: ${(error as Error).message}`, 1);
  }
  const log = container.log;
  const server = await buildServer(container);
  let address: string;
  try {
    address = await server.app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await server.drain().catch(() => undefined);
    die(`cannot listen on ${config.host}:${config.port} (PORT, HOST): ${(error as Error).message}`, 1);
  }
  // The bound address (PORT=0 picks a free port), for operators and for tests that spawn the server.
  log.info(
    { address, publicUrl: config.publicUrl, database: container.db.kind === 'pglite' ? `embedded (${config.dataDir})` : 'postgresql' },
    `orgway listening on ${address}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal while draining; exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'draining');
    // drain() is bounded by the shutdown timeout; this guards the database close after it.
    setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown did not finish in time; exiting with requests cut off');
      process.exit(1);
    }, config.shutdownTimeoutMs + CLOSE_MARGIN_MS).unref();
    server
      .drain()
      .then(() => {
        log.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
};
