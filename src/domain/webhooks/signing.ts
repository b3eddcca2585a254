/**
 * The Standard Webhooks message (https://www.standardwebhooks.com): headers `webhook-id` (the
 * event id, stable across retries, so receivers can drop duplicates), `webhook-timestamp` and
 * `webhook-signature` (`v1,<base64 HMAC-SHA256>`, one per live secret, space-separated),
 * signed with the maintained `standardwebhooks` library so any Standard Webhooks SDK verifies it.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { MembershipEventRecord } from '../events/event-log.js';

/** A new signing secret: `whsec_` and 32 random bytes in base64, the Standard Webhooks form. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** The JSON body: `type` as `membership.<type in lower case>`, `data` as the GraphQL MembershipEvent. */
export const webhookBody = (e: MembershipEventRecord): string =>
  JSON.stringify({
    type: `membership.${e.type.toLowerCase()}`,
    timestamp: e.occurredAt.toISOString(),
    data: {
      id: e.id,
      type: e.type,
      organizationId: e.organizationId,
      userId: e.userId,
      membershipId: e.membershipId,
      actor: e.actor,
      role: e.role,
      status: e.status,
      previousRole: e.previousRole,
      previousStatus: e.previousStatus,
      teamIds: e.teamIds,
      previousTeamIds: e.previousTeamIds,
      occurredAt: e.occurredAt.toISOString(),
    },
  });

export const webhookHeaders = (secrets: readonly string[], eventId: string, timestamp: Date, body: string): Record<string, string> => ({
  'webhook-id': eventId,
  'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
  'webhook-signature': secrets.map((s) => new Webhook(s).sign(eventId, timestamp, body)).join(' '),
});
