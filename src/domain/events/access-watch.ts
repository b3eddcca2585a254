/**
 * Ends subscriptions whose organization stopped accepting their session (a connection was
 * untrusted), with FORBIDDEN (SPEC §6). One statement checks every open organization stream of
 * this instance; it runs when any instance signals a trust change (`ACCESS_CHANNEL`), and
 * periodically in case a signal was lost. Viewer streams decide again, per organization, which
 * of the viewer's events they pass.
 */
import type { EventWakeSource } from '../../persistence/event-wake-sources.js';
import type { Em } from '../../persistence/orm.js';
import { acceptsSql } from '../access.js';
import type { EventHub, EventListener } from './event-hub.js';
import type { ScopedListener } from './event-stream.js';

/** NOTIFY channel of trust changes (payload: the organization id; it only wakes the watch). */
export const ACCESS_CHANNEL = 'orgway_access';

const isScoped = (l: EventListener): l is EventListener & ScopedListener => 'loseAccess' in l;

export class AccessWatch {
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: EventHub,
    private readonly em: () => Em,
    private readonly source: EventWakeSource,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    await this.source.start(() => this.recheck());
    if (this.intervalMs > 0) {
      this.#timer = setInterval(() => this.recheck(), this.intervalMs);
      this.#timer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.source.stop();
    await this.#running;
  }

  /** Checks every open stream again (coalesces concurrent calls); resolves when done. */
  recheck(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.run()
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          void this.recheck();
        }
      });
    return this.#running;
  }

  private async run(): Promise<void> {
    const byKey = new Map<string, (EventListener & ScopedListener)[]>();
    const checks: { k: string; org: string; operator: boolean; email: boolean; connections: string[] }[] = [];
    for (const listener of this.hub.listeners()) {
      if (!isScoped(listener)) continue;
      const organizationId = listener.organizationId;
      if (organizationId === undefined) {
        listener.forgetScope();
        continue;
      }
      const { operator, email, connectionIds } = listener.scope;
      const k = JSON.stringify([organizationId, operator, email, connectionIds]);
      let group = byKey.get(k);
      if (!group) {
        byKey.set(k, (group = []));
        checks.push({ k, org: organizationId, operator, email, connections: connectionIds });
      }
      group.push(listener);
    }
    if (checks.length === 0) return;
    const refused = await this.em().execute<{ k: string }[]>(
      `select x.k from jsonb_to_recordset(?::jsonb) as x(k text, org text, operator boolean, email boolean, connections jsonb)
        where not exists (select 1 from organizations o
                           where o.id = x.org and ${acceptsSql('o', { operator: 'x.operator', email: 'x.email', connectionIds: 'array(select jsonb_array_elements_text(x.connections))' })})`,
      [JSON.stringify(checks)],
    );
    for (const { k } of refused) for (const listener of byKey.get(k) ?? []) listener.loseAccess();
  }
}
