/**
 * The audit log (SPEC §10): an organization's membership events as pages, oldest first
 * (newest last), with the ids `membershipChanged` uses. ORG_ADMIN only. Read through the
 * event log's `readEventsAfter`, the same reader subscription replay uses, so a page holds
 * only committed events and never skips one that commits later with a lower id.
 */
import { type Principal, requireAccess } from '../access.js';
import { badInput, isMembershipEventType, MAX_PAGE_SIZE, MEMBERSHIP_EVENT_TYPES, type MembershipEventType } from '../model/index.js';
import type { TransactionRunner } from '../unit-of-work.js';
import { type MembershipEventRecord, readEventsAfter } from './event-log.js';
import { checkEventId } from './event-stream.js';

export interface AuditLogQuery {
  first: number;
  /** An event id (the cursor of an edge, or an id from `membershipChanged`). */
  after: string | null;
  /** Only these types; null or omitted = all. */
  types?: readonly MembershipEventType[] | null;
  /** Only events about this user. */
  userId?: string | null;
}

export interface AuditLogPage {
  items: { cursor: string; node: MembershipEventRecord }[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export class AuditLog {
  constructor(private readonly tx: TransactionRunner) {}

  /** Needs ORG_ADMIN in the organization. */
  events(principal: Principal, organizationId: string, q: AuditLogQuery): Promise<AuditLogPage> {
    if (!Number.isInteger(q.first) || q.first < 0 || q.first > MAX_PAGE_SIZE)
      throw badInput('first', `must be between 0 and ${MAX_PAGE_SIZE} (got ${q.first}).`);
    const after = q.after === null ? '0' : checkEventId(q.after);
    let types: MembershipEventType[] | undefined;
    if (q.types) {
      const bad = q.types.find((t) => !isMembershipEventType(t));
      if (bad !== undefined) throw badInput('types', `unknown event type ${String(bad)}.`, { allowed: MEMBERSHIP_EVENT_TYPES });
      types = [...new Set(q.types)];
      // Every type selected: the (organization_id, id) range alone serves the page.
      if (types.length === MEMBERSHIP_EVENT_TYPES.length) types = undefined;
    }
    if (q.userId != null && (q.userId.length === 0 || q.userId.length > 64)) throw badInput('userId', 'is not a user id.');
    return this.tx.read(async (em) => {
      await requireAccess(em, principal, organizationId, 'admin');
      const rows = await readEventsAfter(em, {
        after,
        organizationId,
        userId: q.userId ?? undefined,
        types,
        limit: q.first + 1,
      });
      const items = rows.slice(0, q.first).map((node) => ({ cursor: node.id, node }));
      return {
        items,
        hasNextPage: rows.length > q.first,
        hasPreviousPage: after !== '0',
        startCursor: items[0]?.cursor ?? null,
        endCursor: items.at(-1)?.cursor ?? null,
      };
    });
  }
}
