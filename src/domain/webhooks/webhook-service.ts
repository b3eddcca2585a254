/**
 * Webhook endpoints of an organization (SPEC §10): create (the secret shown once), list,
 * update, rotate the secret, delete, the delivery attempts, and redelivery. Every use case
 * needs ORG_ADMIN, decided by `requireAccess` like every other admin use case.
 *
 * A new endpoint starts at the end of the log: it receives the events committed after it.
 */
import { type Principal, requireAccess } from '../access.js';
import { readEventsAfter, latestEventId } from '../events/event-log.js';
import { checkEventId } from '../events/event-stream.js';
import { badInput, DomainError, isMembershipEventType, MAX_PAGE_SIZE, MEMBERSHIP_EVENT_TYPES, type MembershipEventType, notFound } from '../model/index.js';
import { newId } from '../runtime.js';
import type { TransactionRunner } from '../unit-of-work.js';
import type { Em } from '../../persistence/orm.js';
import { DELIVERY_COLUMNS, deliveryFromRow, ENDPOINT_COLUMNS, endpointFromRow, type Row } from './rows.js';
import { newWebhookSecret } from './signing.js';
import type { WebhookDeliveryView, WebhookEndpointView, WebhookHttp } from './types.js';

export const MAX_ENDPOINTS_PER_ORGANIZATION = 20;
const MAX_URL_LENGTH = 2048;
/** How long the secret before a rotation keeps signing by default, and at most. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 3600;
const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3600;

export interface WebhookEndpointInput {
  url: string;
  /** null or omitted: every type. */
  eventTypes?: readonly string[] | null;
}

export interface WebhookEndpointChanges {
  url?: string | null;
  eventTypes?: readonly string[] | null;
  /** true re-enables a disabled endpoint (it resumes at the event it stopped at); false disables it. */
  enabled?: boolean | null;
}

export interface IssuedWebhookSecret {
  /** `whsec_…`: shown once. */
  secret: string;
  endpoint: WebhookEndpointView;
}

export interface WebhookDeliveryPage {
  items: { cursor: string; node: WebhookDeliveryView }[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface WebhookStats {
  /** Events the most-behind enabled endpoint has not been given yet (counted up to a cap). */
  maxLagEvents: number;
  disabledEndpoints: number;
}

/** Events counted per endpoint at most when measuring lag: a scrape stays cheap behind a huge backlog. */
const LAG_COUNT_CAP = 10_000;

export class WebhookService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly http: WebhookHttp,
    /** Wakes the dispatcher after a commit that gives it work. */
    private readonly wake: () => void = () => undefined,
  ) {}

  async create(principal: Principal, organizationId: string, input: WebhookEndpointInput): Promise<IssuedWebhookSecret> {
    const url = await this.checkUrl(input.url, 'input.url');
    const eventTypes = checkEventTypes(input.eventTypes ?? null, 'input.eventTypes');
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      // Serialises creations in the organization, so the limit holds.
      await uow.em.execute('select id from organizations where id = ? for update', [organizationId]);
      const [count] = await uow.em.execute<{ n: number }[]>('select count(*)::int as n from webhook_endpoints where organization_id = ?', [organizationId]);
      if ((count?.n ?? 0) >= MAX_ENDPOINTS_PER_ORGANIZATION)
        throw new DomainError('CONFLICT', `An organization has at most ${MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints; delete one first.`, {
          limit: MAX_ENDPOINTS_PER_ORGANIZATION,
        });
      const secret = newWebhookSecret();
      const cursor = await latestEventId(uow.em);
      const [row] = await uow.em.execute<Row[]>(
        `insert into webhook_endpoints (id, organization_id, url, event_types, secret, cursor, next_attempt_at, created_by_user_id, created_at, updated_at)
         values (?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?) returning ${ENDPOINT_COLUMNS}`,
        [newId('whep'), organizationId, url, JSON.stringify(eventTypes), secret, cursor, uow.now, principal.userId, uow.now, uow.now],
      );
      uow.afterCommit(this.wake);
      return { secret, endpoint: endpointFromRow(row!) };
    });
  }

  list(principal: Principal, organizationId: string): Promise<WebhookEndpointView[]> {
    return this.tx.read(async (em) => {
      await requireAccess(em, principal, organizationId, 'admin');
      const rows = await em.execute<Row[]>(`select ${ENDPOINT_COLUMNS} from webhook_endpoints where organization_id = ? order by created_at, id`, [organizationId]);
      return rows.map(endpointFromRow);
    });
  }

  async update(principal: Principal, organizationId: string, endpointId: string, changes: WebhookEndpointChanges): Promise<WebhookEndpointView> {
    const url = changes.url == null ? null : await this.checkUrl(changes.url, 'input.url');
    const eventTypes = changes.eventTypes == null ? null : checkEventTypes(changes.eventTypes, 'input.eventTypes');
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      const current = await findEndpoint(uow.em, organizationId, endpointId, true);
      const enable = changes.enabled === true && !current.enabled;
      const disable = changes.enabled === false && current.enabled;
      const [row] = await uow.em.execute<Row[]>(
        `update webhook_endpoints set url = coalesce(?, url), event_types = coalesce(?::jsonb, event_types), updated_at = ?,
                enabled = case when ? then true when ? then false else enabled end,
                disabled_reason = case when ? then null when ? then ? else disabled_reason end,
                disabled_at = case when ? then null when ? then ?::timestamptz else disabled_at end,
                attempts = case when ? then 0 else attempts end,
                failing_since = case when ? then null else failing_since end,
                next_attempt_at = case when ? or ? then ?::timestamptz else next_attempt_at end
          where id = ? returning ${ENDPOINT_COLUMNS}`,
        [
          url,
          eventTypes === null ? null : JSON.stringify(eventTypes),
          uow.now,
          enable,
          disable,
          enable,
          disable,
          `Disabled by ${uow.actorName}.`,
          enable,
          disable,
          uow.now,
          enable,
          enable,
          // A new URL (a fix, typically) is tried at once rather than after the backoff.
          enable,
          url !== null && url !== current.url,
          uow.now,
          endpointId,
        ],
      );
      if (enable || url !== null) uow.afterCommit(this.wake);
      return endpointFromRow(row!);
    });
  }

  /** A new secret (returned once); the old one keeps signing for `overlapSeconds` (0–7 days), so receivers can switch without a gap. */
  rotateSecret(principal: Principal, organizationId: string, endpointId: string, overlapSeconds = DEFAULT_ROTATION_OVERLAP_SECONDS): Promise<IssuedWebhookSecret> {
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_ROTATION_OVERLAP_SECONDS)
      throw badInput('overlapSeconds', `must be between 0 and ${MAX_ROTATION_OVERLAP_SECONDS} (7 days) (got ${overlapSeconds}).`);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      await findEndpoint(uow.em, organizationId, endpointId, true);
      const secret = newWebhookSecret();
      const until = overlapSeconds === 0 ? null : new Date(uow.now.getTime() + overlapSeconds * 1000);
      const [row] = await uow.em.execute<Row[]>(
        `update webhook_endpoints set previous_secret = case when ?::timestamptz is null then null else secret end,
                previous_secret_expires_at = ?::timestamptz, secret = ?, updated_at = ?
          where id = ? returning ${ENDPOINT_COLUMNS}`,
        [until, until, secret, uow.now, endpointId],
      );
      return { secret, endpoint: endpointFromRow(row!) };
    });
  }

  /** Deletes the endpoint and its delivery attempts; nothing more is sent to it. */
  delete(principal: Principal, organizationId: string, endpointId: string): Promise<boolean> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      await findEndpoint(uow.em, organizationId, endpointId, true);
      await uow.em.execute('delete from webhook_endpoints where id = ?', [endpointId]);
      return true;
    });
  }

  /** Attempts at the endpoint, newest first (pending redeliveries included). */
  deliveries(principal: Principal, organizationId: string, endpointId: string, first: number, after: string | null): Promise<WebhookDeliveryPage> {
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) throw badInput('first', `must be between 0 and ${MAX_PAGE_SIZE} (got ${first}).`);
    if (after !== null && !/^\d{1,19}$/.test(after)) throw badInput('after', 'is not a cursor this list returned; pass the `cursor` or `pageInfo.endCursor` of a previous page.');
    return this.tx.read(async (em) => {
      await requireAccess(em, principal, organizationId, 'admin');
      await findEndpoint(em, organizationId, endpointId, false);
      const rows = await em.execute<Row[]>(
        `select ${DELIVERY_COLUMNS} from webhook_deliveries where endpoint_id = ? ${after === null ? '' : 'and id < ?'} order by webhook_deliveries.id desc limit ?`,
        after === null ? [endpointId, first + 1] : [endpointId, after, first + 1],
      );
      const items = rows.slice(0, first).map((r) => ({ cursor: r.id as string, node: deliveryFromRow(r) }));
      return {
        items,
        hasNextPage: rows.length > first,
        hasPreviousPage: after !== null,
        startCursor: items[0]?.cursor ?? null,
        endCursor: items.at(-1)?.cursor ?? null,
      };
    });
  }

  /** Sends one event of the organization to the endpoint once more (one attempt, soon, beside the endpoint's own order). */
  redeliver(principal: Principal, organizationId: string, endpointId: string, eventId: string): Promise<WebhookDeliveryView> {
    const id = checkEventId(eventId);
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await requireAccess(uow.em, principal, organizationId, 'admin');
      await findEndpoint(uow.em, organizationId, endpointId, false);
      const [event] = await readEventsAfter(uow.em, { after: (BigInt(id) - 1n).toString(), organizationId, limit: 1 });
      if (!event || event.id !== id) throw notFound('Membership event', id);
      const [row] = await uow.em.execute<Row[]>(
        `insert into webhook_deliveries (endpoint_id, event_id, attempt, redelivery, status, requested_at)
         values (?, ?, (select coalesce(max(attempt), 0) + 1 from webhook_deliveries where endpoint_id = ? and event_id = ?), true, 'PENDING', ?)
         returning ${DELIVERY_COLUMNS}`,
        [endpointId, id, endpointId, id, uow.now],
      );
      uow.afterCommit(this.wake);
      return deliveryFromRow(row!);
    });
  }

  /** For the metrics: the lag of the slowest enabled endpoint and how many are disabled. */
  async stats(): Promise<WebhookStats> {
    const [row] = await this.tx.sql.execute<{ lag: number | null; disabled: number }[]>(
      `select (select max(n) from webhook_endpoints w cross join lateral (
                 select count(*)::int as n from (select 1 from membership_events e where e.organization_id = w.organization_id and e.id > w.cursor limit ${LAG_COUNT_CAP}) x
               ) c where w.enabled) as lag,
              (select count(*)::int from webhook_endpoints where not enabled) as disabled`,
    );
    return { maxLagEvents: row?.lag ?? 0, disabledEndpoints: row?.disabled ?? 0 };
  }

  private async checkUrl(raw: string, field: string): Promise<string> {
    const url = raw.trim();
    if (url.length > MAX_URL_LENGTH) throw badInput(field, `must be at most ${MAX_URL_LENGTH} characters.`);
    if (!URL.canParse(url)) throw badInput(field, 'must be an absolute URL such as https://api.example.com/orgway-webhooks.');
    const parsed = new URL(url);
    if (parsed.username || parsed.password) throw badInput(field, 'must not carry a user name or password; authenticate the requests by their signature.');
    if (parsed.hash) throw badInput(field, 'must not have a fragment.');
    const refused = await this.http.checkUrl(parsed);
    if (refused) throw badInput(field, `${refused}.`);
    return parsed.toString();
  }
}

const checkEventTypes = (types: readonly string[] | null, field: string): MembershipEventType[] => {
  if (types === null) return [...MEMBERSHIP_EVENT_TYPES];
  if (types.length === 0) throw badInput(field, 'must name at least one event type (omit it for all).', { allowed: MEMBERSHIP_EVENT_TYPES });
  const bad = types.find((t) => !isMembershipEventType(t));
  if (bad !== undefined) throw badInput(field, `unknown event type ${bad}.`, { allowed: MEMBERSHIP_EVENT_TYPES });
  return MEMBERSHIP_EVENT_TYPES.filter((t) => types.includes(t));
};

const findEndpoint = async (em: Em, organizationId: string, endpointId: string, lock: boolean): Promise<WebhookEndpointView> => {
  const [row] = await em.execute<Row[]>(
    `select ${ENDPOINT_COLUMNS} from webhook_endpoints where id = ? and organization_id = ?${lock ? ' for update' : ''}`,
    [endpointId, organizationId],
  );
  if (!row) throw notFound('Webhook endpoint', endpointId);
  return endpointFromRow(row);
};
