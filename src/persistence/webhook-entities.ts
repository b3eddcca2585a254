/**
 * Webhooks (SPEC §10): endpoints of an organization, each with its cursor into the event log,
 * and the delivery attempts. The domain reads and writes them with raw SQL
 * (src/domain/webhooks); these definitions keep the schema and the migration in step.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from './entities.js';

export const WebhookEndpoint = defineEntity({
  name: 'WebhookEndpoint',
  tableName: 'webhook_endpoints',
  indexes: [{ properties: ['organization', 'createdAt'] }, { properties: ['nextAttemptAt'] }],
  properties: {
    id: p.string().primary().length(64),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    url: p.string().length(2048),
    eventTypes: p.json<string[]>(),
    /** `whsec_…`: kept as given, signing needs it. */
    secret: p.string().length(100),
    previousSecret: p.string().length(100).nullable(),
    previousSecretExpiresAt: p.datetime().nullable(),
    /** The last event id this endpoint has been given (delivered, or not of a selected type). */
    cursor: p.bigint('string'),
    enabled: p.boolean().default(true),
    disabledReason: p.text().nullable(),
    disabledAt: p.datetime().nullable(),
    failingSince: p.datetime().nullable(),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    /** The lease of the instance working on it. */
    lockedUntil: p.datetime().nullable(),
    createdByUserId: p.string().length(64).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type WebhookEndpointEntity = InferEntity<typeof WebhookEndpoint>;

export const WebhookDelivery = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  indexes: [{ properties: ['endpoint', 'id'] }, { properties: ['endpoint', 'status', 'id'] }, { properties: ['requestedAt'] }],
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    endpoint: () => p.manyToOne(WebhookEndpoint).ref().deleteRule('cascade'),
    eventId: p.bigint('string'),
    attempt: p.integer(),
    redelivery: p.boolean().default(false),
    /** PENDING (a requested redelivery), SUCCEEDED or FAILED. */
    status: p.string().length(16),
    responseStatus: p.integer().nullable(),
    durationMs: p.integer().nullable(),
    error: p.text().nullable(),
    attemptedAt: p.datetime().nullable(),
    requestedAt: p.datetime(),
  },
});
export type WebhookDeliveryEntity = InferEntity<typeof WebhookDelivery>;

export const WEBHOOK_ENTITIES = [WebhookEndpoint, WebhookDelivery];
