/** Webhook receivers (real HTTP servers) that verify every message with the `standardwebhooks` library. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { rows } from './db.js';
import type { Gateway } from './gateway.js';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The parsed body when a secret verified the signature, else null. */
  verified: { type: string; timestamp: string; data: Record<string, unknown> } | null;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Secrets tried in turn to verify (the first that verifies wins). */
  secrets: string[];
  /** The status of the next answer; default 200. Return null to never answer. */
  respond: (n: number, r: Received) => number | null;
  /** Requests left hanging (respond returned null). */
  hanging: http.ServerResponse[];
  ids(): string[];
  close(): Promise<void>;
}

export const startReceiver = async (secrets: string[] = []): Promise<Receiver> => {
  const receiver: Receiver = {
    url: '',
    received: [],
    secrets,
    respond: () => 200,
    hanging: [],
    ids: () => receiver.received.map((r) => r.id),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of receiver.hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      let verified: Received['verified'] = null;
      for (const secret of receiver.secrets) {
        try {
          verified = new Webhook(secret).verify(body, headers) as Received['verified'];
          break;
        } catch {
          // try the next secret
        }
      }
      const r: Received = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body, verified };
      receiver.received.push(r);
      const status = receiver.respond(receiver.received.length, r);
      if (status === null) {
        receiver.hanging.push(res);
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
};

/** Waits until `check` holds (the dispatcher works in the background); fails after `timeoutMs`. */
export const waitFor = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** A clock the test moves forward (real time plus an offset). */
export const movableClock = () => {
  const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };
  return clock;
};

/** Moves the clock just past the endpoint's next attempt and wakes the dispatcher. */
export const skipBackoff = async (gw: Gateway, clock: { offsetMs: number; now(): Date }, endpointId: string): Promise<void> => {
  const [row] = await rows<{ next_attempt_at: Date | string }>(gw, 'select next_attempt_at from webhook_endpoints where id = ?', [endpointId]);
  const due = new Date(row!.next_attempt_at).getTime();
  const now = clock.now().getTime();
  if (due > now) clock.offsetMs += due - now + 1;
  gw.container.webhookDispatcher.wake();
};

export const CREATE = `mutation($o: ID!, $url: String!, $types: [MembershipEventType!]) {
  createWebhookEndpoint(organizationId: $o, input: { url: $url, eventTypes: $types }) {
    secret endpoint { id organizationId url eventTypes enabled disabledReason lastEventId createdAt }
  }
}`;
export const LIST = `query($o: ID!) { organization(id: $o) { webhookEndpoints { id url eventTypes enabled disabledReason disabledAt lastEventId failingSince previousSecretExpiresAt } } }`;
export const UPDATE = `mutation($o: ID!, $e: ID!, $input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(organizationId: $o, endpointId: $e, input: $input) { id url eventTypes enabled disabledReason disabledAt nextAttemptAt }
}`;
export const ROTATE = `mutation($o: ID!, $e: ID!, $overlap: Int) {
  rotateWebhookSecret(organizationId: $o, endpointId: $e, overlapSeconds: $overlap) { secret endpoint { id previousSecretExpiresAt } }
}`;
export const DELETE = `mutation($o: ID!, $e: ID!) { deleteWebhookEndpoint(organizationId: $o, endpointId: $e) }`;
export const REDELIVER = `mutation($o: ID!, $e: ID!, $ev: ID!) {
  redeliverWebhookEvent(organizationId: $o, endpointId: $e, eventId: $ev) { id eventId status redelivery attempt }
}`;
export const DELIVERIES = `query($o: ID!, $first: Int, $after: String) {
  organization(id: $o) { webhookEndpoints { id deliveries(first: $first, after: $after) {
    edges { cursor node { id eventId attempt redelivery status responseStatus durationMs error attemptedAt } }
    pageInfo { hasNextPage endCursor }
  } } }
}`;
