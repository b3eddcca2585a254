/**
 * The writer: membership changes through every instance, each one a `stageUser`
 * of a new, unique email (so its event is recognisable in the log: a JOINED event for the
 * user id the acknowledgement names). Writes that fail (refused, 503, timed out, connection
 * reset) are kept with their email: afterwards the drill checks whether they committed anyway.
 */
import type { Endpoint } from './subscribers.js';

const STAGE = `mutation($o: ID!, $e: String!) { stageUser(organizationId: $o, email: $e) { id user { id } } }`;

export interface Acknowledged {
  organizationId: string;
  email: string;
  userId: string;
  instance: string;
  sentAt: number;
  ackAt: number;
}

export interface Failed {
  organizationId: string;
  email: string;
  instance: string;
  sentAt: number;
  reason: string;
}

export interface WriterOrganization {
  id: string;
  token: string;
}

/** A request that has not answered after this long is abandoned (and counted as failed). */
const REQUEST_TIMEOUT_MS = 30_000;

export class Writer {
  readonly acknowledged: Acknowledged[] = [];
  readonly failed: Failed[] = [];
  #running = false;
  #loops: Promise<void>[] = [];
  #n = 0;
  /** Pause between two writes of one loop (ms); the drills change it for bursts. */
  intervalMs: number;

  constructor(
    private readonly endpoints: () => Endpoint[],
    private readonly organizations: WriterOrganization[],
    private readonly url: (endpoint: Endpoint) => string,
    private readonly runId: string,
    intervalMs = 500,
  ) {
    this.intervalMs = intervalMs;
  }

  /**
   * One loop per organization and instance, as clients spread by a load balancer: a request
   * hanging on one instance holds up only its own loop, the others keep writing meanwhile.
   */
  start(): void {
    this.#running = true;
    this.#loops = this.organizations.flatMap((o) => this.endpoints().map((e) => this.#loop(o, e.name)));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  get inFlight(): boolean {
    return this.#running;
  }

  async #loop(org: WriterOrganization, instance: string): Promise<void> {
    while (this.#running) {
      const endpoint = this.endpoints().find((e) => e.name === instance)!;
      await this.#write(org, endpoint);
      await new Promise((r) => setTimeout(r, this.intervalMs));
    }
  }

  async #write(org: WriterOrganization, endpoint: Endpoint): Promise<void> {
    const email = `drill.${this.runId}.${++this.#n}@example.com`;
    const sentAt = performance.now();
    const fail = (reason: string) => this.failed.push({ organizationId: org.id, email, instance: endpoint.name, sentAt, reason });
    try {
      const res = await fetch(this.url(endpoint), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${org.token}` },
        body: JSON.stringify({ query: STAGE, variables: { o: org.id, e: email } }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      let body: { data?: { stageUser?: { user?: { id?: string } } } | null; errors?: { extensions?: { code?: string } }[] } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // not JSON (a proxy's or Fastify's own answer): reported with its status below
      }
      const userId = body.data?.stageUser?.user?.id;
      if (res.status === 200 && !body.errors && userId) {
        this.acknowledged.push({ organizationId: org.id, email, userId, instance: endpoint.name, sentAt, ackAt: performance.now() });
        return;
      }
      fail(`HTTP ${res.status} ${body.errors?.map((e) => e.extensions?.code ?? '?').join(',') ?? text.slice(0, 60)}`);
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      fail(e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name));
    }
  }
}
