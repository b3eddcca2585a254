/**
 * Wake-up sources for the event hub: PostgreSQL LISTEN on a dedicated connection
 * (works across gateway instances), or PGlite's in-process listen (embedded mode,
 * one instance; STACK.md: NOTIFY across pglite-socket connections is broken).
 */
import type { PGlite } from '@electric-sql/pglite';
import { type DatabaseLimits, DEFAULT_DATABASE_LIMITS, GuardedClient, guardedClientOptions } from './orm.js';

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
  ) {}

  async start(wake: () => void): Promise<void> {
    this.#stopped = false;
    await this.connect(wake);
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
    const client = new GuardedClient({ ...options, connectionString: this.url, application_name: 'orgway-events' });
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
    this.#client = client;
    // Anything appended while we were not listening is read now.
    wake();
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
