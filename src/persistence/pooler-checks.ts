/**
 * Start-up checks for what a connection pooler between orgway and PostgreSQL can break:
 * named prepared statements and session state (a transaction-mode pooler runs each
 * transaction on any server connection) and LISTEN (needs one server connection for the
 * whole session). A configuration that cannot work is refused with what to change.
 */
import { randomBytes } from 'node:crypto';
import { type DatabaseLimits, GuardedClient, guardedClientOptions } from './orm.js';

export class PoolerConfigurationError extends Error {
  override readonly name = 'PoolerConfigurationError';
}

const connect = async (url: string, limits: DatabaseLimits): Promise<GuardedClient> => {
  const { Client: _client, ...options } = guardedClientOptions(limits, { startupTimeouts: false });
  const c = new GuardedClient({ ...options, connectionString: url, application_name: 'orgway-startup-check' });
  c.on('error', () => undefined);
  await c.connect();
  return c;
};

/**
 * Does `url` go through a transaction-mode pooler? Client A sets a session variable; then
 * client B, and A again, each read it inside transactions open at the same time. On a direct
 * connection (or a session-mode pool) only A sees its value, always; behind a transaction-mode
 * pooler B runs on A's former server connection (PgBouncer reuses the most recently released
 * one first) and sees it, or A runs on another one and does not.
 */
export const goesThroughTransactionPooler = async (url: string, limits: DatabaseLimits): Promise<boolean> => {
  const a = await connect(url, limits);
  const b = await connect(url, limits).catch(async (error: unknown) => {
    await a.end().catch(() => undefined);
    throw error;
  });
  const read = 'select current_setting($1, true) as v';
  try {
    for (let round = 0; round < 3; round++) {
      const value = randomBytes(6).toString('hex');
      await a.query('select set_config($1, $2, false)', ['orgway.pooler_probe', value]);
      await b.query('begin');
      await a.query('begin');
      const seenByB = ((await b.query(read, ['orgway.pooler_probe'])) as { rows: { v: string | null }[] }).rows[0]?.v;
      const seenByA = ((await a.query(read, ['orgway.pooler_probe'])) as { rows: { v: string | null }[] }).rows[0]?.v;
      await a.query('commit');
      await b.query('commit');
      if (seenByB === value || seenByA !== value) return true;
    }
    return false;
  } finally {
    await Promise.all([a.end().catch(() => undefined), b.end().catch(() => undefined)]);
  }
};

/** Refuses a DATABASE_URL behind a transaction-mode pooler when the configuration says it is not. */
export const checkPoolMode = async (url: string, limits: DatabaseLimits & { poolMode: 'session' | 'transaction' }): Promise<void> => {
  if (limits.poolMode === 'transaction') return;
  if (await goesThroughTransactionPooler(url, limits))
    throw new PoolerConfigurationError(
      'DATABASE_URL goes through a transaction-mode pooler (PgBouncer pool_mode=transaction): named prepared statements and LISTEN cannot work there. ' +
        'Set ORGWAY_DB_POOL_MODE=transaction (turns prepared statements off) and DATABASE_LISTEN_URL to a URL that reaches PostgreSQL directly or through a session-mode pool; ' +
        'or point DATABASE_URL at a session-mode pool.',
    );
};

export const PROBE_CHANNEL_PREFIX = 'orgway_probe_';
export const newProbeChannel = (): string => `${PROBE_CHANNEL_PREFIX}${randomBytes(6).toString('hex')}`;
