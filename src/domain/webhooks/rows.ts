/** Rows of webhook_endpoints and webhook_deliveries as the domain's views. */
import type { MembershipEventType } from '../model/index.js';
import { dateFromDb } from '../../persistence/timestamps.js';
import type { WebhookDeliveryStatus, WebhookDeliveryView, WebhookEndpointView } from './types.js';

export type Row = Record<string, unknown>;

const maybeDate = (v: unknown): Date | null => (v == null ? null : dateFromDb(v));
const jsonArray = <T>(v: unknown): T[] => (typeof v === 'string' ? (JSON.parse(v) as T[]) : ((v as T[] | null) ?? []));

export const ENDPOINT_COLUMNS = `id, organization_id, url, event_types, enabled, disabled_reason, disabled_at, cursor::text as cursor, failing_since,
  attempts, next_attempt_at, previous_secret_expires_at, created_at, updated_at`;

export const endpointFromRow = (r: Row): WebhookEndpointView => ({
  id: r.id as string,
  organizationId: r.organization_id as string,
  url: r.url as string,
  eventTypes: jsonArray<MembershipEventType>(r.event_types),
  enabled: Boolean(r.enabled),
  disabledReason: (r.disabled_reason as string | null) ?? null,
  disabledAt: maybeDate(r.disabled_at),
  lastEventId: String(r.cursor),
  failingSince: maybeDate(r.failing_since),
  nextAttemptAt: r.enabled ? maybeDate(r.next_attempt_at) : null,
  previousSecretExpiresAt: maybeDate(r.previous_secret_expires_at),
  createdAt: dateFromDb(r.created_at),
  updatedAt: dateFromDb(r.updated_at),
});

export const DELIVERY_COLUMNS = `id::text as id, endpoint_id, event_id::text as event_id, attempt, redelivery, status, response_status, duration_ms, error,
  attempted_at, requested_at`;

export const deliveryFromRow = (r: Row): WebhookDeliveryView => ({
  id: r.id as string,
  endpointId: r.endpoint_id as string,
  eventId: r.event_id as string,
  attempt: Number(r.attempt),
  redelivery: Boolean(r.redelivery),
  status: r.status as WebhookDeliveryStatus,
  responseStatus: r.response_status == null ? null : Number(r.response_status),
  durationMs: r.duration_ms == null ? null : Number(r.duration_ms),
  error: (r.error as string | null) ?? null,
  attemptedAt: maybeDate(r.attempted_at),
  requestedAt: dateFromDb(r.requested_at),
});
