/**
 * Polls every instance's /readyz and /healthz (every 200 ms, each probe bounded), as a load
 * balancer would: subscribers reconnect to an instance it currently sees ready. Keeps the
 * timeline, from which a drill reads when an instance was ready again.
 */
import { type GatewayInstance, probe, type ProbeAnswer } from './gateway-instance.js';

export interface Observation {
  at: number;
  ready: ProbeAnswer;
  health: ProbeAnswer;
}

export class HealthMonitor {
  readonly #timeline = new Map<string, Observation[]>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(private readonly instances: GatewayInstance[]) {
    for (const i of instances) this.#timeline.set(i.name, []);
  }

  start(everyMs = 200): void {
    this.#stopped = false;
    const loop = async (instance: GatewayInstance) => {
      while (!this.#stopped) {
        const at = performance.now();
        const [ready, health] = await Promise.all([probe(`${instance.url}/readyz`), probe(`${instance.url}/healthz`)]);
        const list = this.#timeline.get(instance.name)!;
        list.push({ at, ready, health });
        // Bounded memory: a run keeps the last hour at most.
        if (list.length > 20_000) list.splice(0, 1_000);
        await new Promise((r) => (this.#timer = setTimeout(r, Math.max(0, everyMs - (performance.now() - at)))));
      }
    };
    for (const i of this.instances) void loop(i);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  last(name: string): Observation | undefined {
    return this.#timeline.get(name)?.at(-1);
  }

  isReady(name: string): boolean {
    return this.last(name)?.ready.status === 200;
  }

  /** Observations of one instance since `since`. */
  since(name: string, since: number): Observation[] {
    return (this.#timeline.get(name) ?? []).filter((o) => o.at >= since);
  }

  /**
   * Recovery of one instance over [from, …): the time it was seen not ready (ms, summed over
   * probes), and when it was first seen ready after the last time it was not (undefined:
   * not ready at the last probe; `stayedReady`: never seen not ready).
   */
  recovery(name: string, from: number): { notReadyMs: number; readyAgainAt: number | undefined; stayedReady: boolean; healthFailed: boolean } {
    const list = this.since(name, from);
    let lastBad = -1;
    let notReadyMs = 0;
    let healthFailed = false;
    for (let i = 0; i < list.length; i++) {
      if (list[i]!.ready.status !== 200) {
        lastBad = i;
        notReadyMs += (list[i + 1]?.at ?? performance.now()) - list[i]!.at;
      }
      if (list[i]!.health.status !== 200) healthFailed = true;
    }
    if (lastBad < 0) return { notReadyMs: 0, readyAgainAt: list[0]?.at ?? from, stayedReady: true, healthFailed };
    const back = list[lastBad + 1];
    return { notReadyMs, readyAgainAt: back?.at, stayedReady: false, healthFailed };
  }

  /** Waits (bounded) until every named instance was seen ready; false if not in time. */
  async waitReady(names: string[], timeoutMs: number): Promise<boolean> {
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
      if (names.every((n) => this.isReady(n))) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return names.every((n) => this.isReady(n));
  }
}
