/**
 * Wake-up sources for the event hub: PostgreSQL LISTEN on a dedicated connection
 * (works across gateway instances), or PGlite's in-process listen (embedded mode,
 * one instance; NOTIFY across pglite-socket connections does not reach the listener).
 */
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** Something that calls `wake` when events were appended (on any instance). */
export interface EventWakeSource {
  start(wake: () => void): Promise<void>;
  stop(): Promise<void>;
}

export class PostgresListenSource implements EventWakeSource {
  #client: pg.Client | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onError: (error: unknown) => void = () => undefined,
    private readonly applicationName = 'orgway-events',
  ) {}

  async start(wake: () => void): Promise<void> {
    this.#stopped = false;
    await this.connect(wake);
  }

  private async connect(wake: () => void): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: this.applicationName });
    client.on('notification', () => wake());
    client.on('error', (error) => {
      this.onError(error);
      this.reconnect(wake);
    });
    client.on('end', () => this.reconnect(wake));
    await client.connect();
    await client.query(`listen ${this.channel}`);
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
