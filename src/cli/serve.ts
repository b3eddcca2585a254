import { createContainer, NotMigratedError } from '../app/container.js';
import { buildServer } from '../app/server.js';
import { ConfigError, loadConfig } from '../config/config.js';

/** Starts the gateway and drains it on SIGTERM/SIGINT. Exits 78 (config) or 1 on start-up errors. */
export const serve = async (options: { migrate?: boolean } = {}): Promise<void> => {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`orgway: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  let container;
  try {
    container = await createContainer(config, options.migrate === undefined ? {} : { migrate: options.migrate });
  } catch (error) {
    if (error instanceof NotMigratedError) {
      process.stderr.write(`orgway: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const server = await buildServer(container);
  await server.app.listen({ port: config.port, host: config.host });
  container.log.info(
    { url: config.publicUrl, database: container.db.kind === 'pglite' ? `embedded (${config.dataDir})` : 'postgresql' },
    `orgway listening on ${config.host}:${config.port}`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    container.log.info({ signal }, 'draining');
    server
      .drain()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        container.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
};
