/** Ports and views of webhooks (SPEC §10); the HTTP client is an adapter (adapters/webhook-http-client.ts). */
import type { MembershipEventType } from '../model/index.js';

export interface WebhookHttp {
  /** Why this URL may not receive webhooks (scheme, address), or null when it may. */
  checkUrl(url: URL): Promise<string | null>;
  /** POSTs the body; resolves with the response status, whatever it is; rejects on network errors, refused addresses and timeouts. */
  post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number }>;
}

export interface WebhookEndpointView {
  id: string;
  organizationId: string;
  url: string;
  eventTypes: MembershipEventType[];
  enabled: boolean;
  /** Why the dispatcher (or an admin) disabled it. */
  disabledReason: string | null;
  disabledAt: Date | null;
  /** The last event id this endpoint has been given (delivered, or not of a selected type). */
  lastEventId: string;
  /** Since when the event at the head of its queue has been failing. */
  failingSince: Date | null;
  nextAttemptAt: Date | null;
  /** Until then the secret before the last rotation also signs. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type WebhookDeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface WebhookDeliveryView {
  id: string;
  endpointId: string;
  eventId: string;
  /** 1 for the first attempt at this event, counting retries; redeliveries count on. */
  attempt: number;
  redelivery: boolean;
  status: WebhookDeliveryStatus;
  responseStatus: number | null;
  durationMs: number | null;
  error: string | null;
  attemptedAt: Date | null;
  requestedAt: Date;
}
