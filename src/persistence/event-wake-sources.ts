/**
 * Wake-up sources for the event hub: PostgreSQL LISTEN on a dedicated connection
 * (works across gateway instances), or PGlite's in-process listen (embedded mode,
 * one instance; NOTIFY across pglite-socket connections does not reach the listener).
 */
import type { PGlite } from '@electric-sql/pglite';
import { type DatabaseLimits, DEFAULT_DATABASE_LIMITS, GuardedClient, guardedClientOptions } from './orm.js';
import { newProbeChannel, PoolerConfigurationError } from './pooler-checks.js';

/** Something that calls `wake` when events were appended (on any instance). */
export interface EventWakeSource {
  start(wake: () => void): Promise<void>;
  stop(): Promise<void>;
}

/**
 * LISTEN on one dedicated connection. Every `heartbeatMs` the connection answers a `select 1`
 * or is replaced: a network path that silently stopped forwarding would otherwise leave it
 * open and deaf (the hub's periodic poll still delivers meanwhile, just later).
 */
export class PostgresListenSource implements EventWakeSource {
  #client: GuardedClient | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onError: (error: unknown) => void = () => undefined,
    private readonly limits: DatabaseLimits = DEFAULT_DATABASE_LIMITS,
    private readonly heartbeatMs = 5_000,
    /** Sends a notification on a channel through the writers' path (start-up check); none = no check. */
    private readonly probe?: (channel: string) => Promise<void>,
    private readonly applicationName = 'orgway-events',
  ) {}

  async start(wake: () => void): Promise<void> {
    this.#stopped = false;
    await this.connect(wake);
    if (this.probe) await this.#probeDelivery(this.probe);
    let beating = false;
    this.#heartbeat = setInterval(() => {
      const c = this.#client;
      if (!c || beating) return;
      beating = true;
      // A statement that gets no answer destroys the connection (GuardedClient), which reconnects.
      (c.query('select 1') as Promise<unknown>).catch(() => undefined).finally(() => (beating = false));
    }, this.heartbeatMs);
    this.#heartbeat.unref();
  }

  private async connect(wake: () => void): Promise<void> {
    const { Client: _client, ...options } = guardedClientOptions(this.limits, { startupTimeouts: false });
    const client = new GuardedClient({ ...options, connectionString: this.url, application_name: this.applicationName });
    client.on('notification', () => wake());
    client.on('error', (error) => {
      this.onError(error);
      this.reconnect(wake);
    });
    client.on('end', () => this.reconnect(wake));
    try {
      await client.connect();
      await client.query(`listen ${this.channel}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#stopped) {
      // Stopped while this (re)connect was under way.
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    // Anything appended while we were not listening is read now.
    wake();
  }

  /**
   * A notification sent through the writers' path must reach this connection: not so
   * when it goes through a transaction-mode pooler (the LISTEN stays on a server
   * connection that other clients then use), which would leave events to the poll.
   */
  async #probeDelivery(probe: (channel: string) => Promise<void>): Promise<void> {
    const client = this.#client!;
    const channel = newProbeChannel();
    let received!: () => void;
    const arrived = new Promise<void>((r) => (received = r));
    const onNotification = (n: { channel: string }) => {
      if (n.channel === channel) received();
    };
    client.on('notification', onNotification);
    let timer: NodeJS.Timeout | undefined;
    try {
      await client.query(`listen ${channel}`);
      await probe(channel);
      const timeoutMs = this.limits.connectTimeoutMs;
      const ok = await Promise.race([arrived.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
      if (!ok) {
        await this.stop();
        throw new PoolerConfigurationError(
          `The event listener's connection (DATABASE_LISTEN_URL, else DATABASE_URL) did not receive a test notification within ${timeoutMs} ms: ` +
            'LISTEN needs a connection that reaches PostgreSQL directly or through a session-mode pool. ' +
            'Behind a transaction-mode pooler set DATABASE_LISTEN_URL to such a URL (and ORGWAY_DB_POOL_MODE=transaction).',
        );
      }
      await client.query(`unlisten ${channel}`);
    } finally {
      clearTimeout(timer);
      client.off('notification', onNotification);
    }
  }

  private reconnect(wake: () => void): void {
    if (this.#stopped || this.#retry) return;
    this.#client = undefined;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.connect(wake).catch((error: unknown) => {
        this.onError(error);
        this.reconnect(wake);
      });
    }, 1000);
    this.#retry.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.end().catch(() => undefined);
  }
}

export class PgliteListenSource implements EventWakeSource {
  #unlisten: (() => Promise<void>) | undefined;
  constructor(
    private readonly pglite: PGlite,
    private readonly channel: string,
  ) {}
  async start(wake: () => void): Promise<void> {
    this.#unlisten = await this.pglite.listen(this.channel, () => wake());
  }
  async stop(): Promise<void> {
    await this.#unlisten?.().catch(() => undefined);
  }
}
