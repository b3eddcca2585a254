// The audit log: the organization's membership events, oldest first, filtered by type and member, paged with "load more".
import { useCallback, useEffect, useRef, useState } from 'react';
import { type CombinedError, useClient, useQuery } from 'urql';
import { graphql } from '../gql';
import type { ConsoleAuditLogQuery, MembershipEventType } from '../gql/graphql';
import { Button, ErrorAlert, when } from '../kit';
import { EVENT_TYPES, eventTypeLabel, roleLabel, statusLabel } from '../labels';
import type { ConsolePageProps } from './sections';

const ConsoleAuditLogDocument = graphql(`
  query ConsoleAuditLog($organizationId: ID!, $first: Int!, $after: ID, $types: [MembershipEventType!], $userId: ID) {
    organization(id: $organizationId) {
      id
      events(first: $first, after: $after, types: $types, userId: $userId) {
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          cursor
          node {
            id
            type
            userId
            actor
            role
            status
            previousRole
            previousStatus
            teamIds
            previousTeamIds
            occurredAt
          }
        }
      }
    }
  }
`);

// Names for the ids events carry: members' emails, teams, SCIM tokens (one small query, read once).
const ConsoleAuditNamesDocument = graphql(`
  query ConsoleAuditNames($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      members(first: 100) {
        edges {
          node {
            id
            user {
              id
              email
            }
          }
        }
      }
      teams {
        id
        name
      }
      scimTokens {
        id
        name
      }
    }
  }
`);

type AuditEvent = NonNullable<ConsoleAuditLogQuery['organization']>['events']['edges'][number]['node'];

interface Names {
  emails: Map<string, string>;
  teams: Map<string, string>;
  scimTokens: Map<string, string>;
}

const PAGE_SIZES = [10, 25, 50, 100] as const;

const actorText = (actor: string, names: Names): string => {
  const [kind, id = ''] = actor.split(/:(.*)/s, 2) as [string, string?];
  switch (kind) {
    case 'user':
      return names.emails.get(id) ?? `user ${id}`;
    case 'scim':
      return names.scimTokens.has(id) ? `SCIM token “${names.scimTokens.get(id)}”` : `SCIM token ${id}`;
    case 'saml':
      return `SAML sign-in (connection ${id})`;
    case 'jit':
      return `automatic access (connection ${id})`;
    case 'cli':
      return 'command line';
    case 'system':
      return 'the gateway';
    default:
      return actor;
  }
};

const teamList = (ids: readonly string[], names: Names) => (ids.length === 0 ? 'none' : ids.map((id) => names.teams.get(id) ?? id).join(', '));

/** What changed, in words: "Role: Member → Viewer"; a JOINED event shows where it started. */
const changeText = (e: AuditEvent, names: Names): string[] => {
  const parts: string[] = [];
  if (e.type === 'LEFT') {
    const role = e.previousRole ?? e.role;
    const status = e.previousStatus ?? e.status;
    return role || status ? [`Was ${[role ? roleLabel(role) : null, status ? statusLabel(status) : null].filter(Boolean).join(', ')}`] : [];
  }
  if (e.role && e.previousRole && e.role !== e.previousRole) parts.push(`Role: ${roleLabel(e.previousRole)} → ${roleLabel(e.role)}`);
  else if (e.role && (e.type === 'JOINED' || e.type === 'ROLE_CHANGED')) parts.push(`Role: ${roleLabel(e.role)}`);
  if (e.status && e.previousStatus && e.status !== e.previousStatus) parts.push(`Status: ${statusLabel(e.previousStatus)} → ${statusLabel(e.status)}`);
  else if (e.status && (e.type === 'JOINED' || e.type === 'STATUS_CHANGED')) parts.push(`Status: ${statusLabel(e.status)}`);
  if (e.teamIds && e.previousTeamIds) parts.push(`Teams: ${teamList(e.previousTeamIds, names)} → ${teamList(e.teamIds, names)}`);
  else if (e.teamIds && e.teamIds.length > 0) parts.push(`Teams: ${teamList(e.teamIds, names)}`);
  return parts;
};

export const AuditLog = ({ organizationId, organizationName }: ConsolePageProps) => {
  const client = useClient();
  const [{ data: namesData, error: namesError }] = useQuery({ query: ConsoleAuditNamesDocument, variables: { organizationId }, requestPolicy: 'cache-and-network' });
  const [types, setTypes] = useState<MembershipEventType[]>([...EVENT_TYPES]);
  const [userId, setUserId] = useState('');
  const [pageSize, setPageSize] = useState<number>(50);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<{ hasNextPage: boolean; endCursor: string | null }>({ hasNextPage: false, endCursor: null });
  const [loading, setLoading] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<CombinedError | string | null>(null);
  // Bumped when the list starts over, so a page requested under older filters is dropped.
  const generation = useRef(0);

  const org = namesData?.organization;
  const names: Names = {
    emails: new Map(org?.members.edges.map((e) => [e.node.user.id, e.node.user.email]) ?? []),
    teams: new Map(org?.teams.map((t) => [t.id, t.name]) ?? []),
    scimTokens: new Map(org?.scimTokens.map((t) => [t.id, t.name]) ?? []),
  };

  /** Reads one page after `after` (null: from the start) and appends it, or replaces the list when starting over. */
  const load = useCallback(
    async (after: string | null) => {
      const mine = after === null ? ++generation.current : generation.current;
      setLoading(true);
      setError(null);
      const result = await client
        .query(
          ConsoleAuditLogDocument,
          {
            organizationId,
            first: pageSize,
            after,
            // All types selected is no filter: the server reads one range instead of one per type.
            types: types.length === EVENT_TYPES.length ? null : types,
            userId: userId || null,
          },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (mine !== generation.current) return;
      setLoading(false);
      setLoaded(true);
      if (result.error || !result.data?.organization) {
        setError(result.error ?? 'The organization is no longer visible to you; sign in again or switch to it.');
        if (after === null) setEvents([]);
        return;
      }
      const page = result.data.organization.events;
      const nodes = page.edges.map((e) => e.node);
      setEvents((previous) => (after === null ? nodes : [...previous, ...nodes]));
      // At the end of the log the last event seen is where newer ones will start.
      setNext((previous) => ({ hasNextPage: page.pageInfo.hasNextPage, endCursor: page.pageInfo.endCursor ?? (after === null ? null : previous.endCursor) }));
    },
    [client, organizationId, pageSize, types, userId],
  );

  useEffect(() => {
    // Filters changed: start over from the oldest event; none selected asks for nothing.
    if (types.length === 0) {
      setEvents([]);
      setNext({ hasNextPage: false, endCursor: null });
      return;
    }
    void load(null);
  }, [load, types.length]);

  const toggleType = (type: MembershipEventType, on: boolean) =>
    setTypes((current) => (on ? EVENT_TYPES.filter((t) => t === type || current.includes(t)) : current.filter((t) => t !== type)));

  // Members of the organization, and anyone the loaded events name who is no longer one (LEFT).
  const memberOptions = [...names.emails.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  const formerIds = [...new Set(events.map((e) => e.userId))].filter((id) => !names.emails.has(id));
  if (userId && !names.emails.has(userId) && !formerIds.includes(userId)) formerIds.push(userId);

  return (
    <>
      <h1>Audit log of {organizationName}</h1>
      <p>
        Every change to a membership (joined, role, status, teams, left), oldest first, with who made it. The same events are sent to webhooks and to{' '}
        <code>membershipChanged</code> subscribers, with the same ids.
      </p>
      <section className="card filters" aria-labelledby="audit-filters-heading">
        <h2 id="audit-filters-heading">Filters</h2>
        <fieldset className="checks">
          <legend>Event types</legend>
          {EVENT_TYPES.map((type) => (
            <label key={type} className="check">
              <input type="checkbox" checked={types.includes(type)} onChange={(e) => toggleType(type, e.target.checked)} />
              {eventTypeLabel(type)}
            </label>
          ))}
        </fieldset>
        <div className="row wrap">
          <label htmlFor="audit-member">Member</label>
          <select id="audit-member" value={userId} onChange={(e) => setUserId(e.target.value)}>
            <option value="">All members</option>
            {memberOptions.map(([id, email]) => (
              <option key={id} value={id}>
                {email}
              </option>
            ))}
            {formerIds.map((id) => (
              <option key={id} value={id}>
                {id} (no longer a member)
              </option>
            ))}
          </select>
          <label htmlFor="audit-page-size">Events per page</label>
          <select id="audit-page-size" value={pageSize} onChange={(e) => setPageSize(Number(e.target.value))}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          <Button onClick={() => void load(null)} busy={loading} disabled={types.length === 0}>
            Refresh
          </Button>
        </div>
      </section>
      <ErrorAlert error={namesError} prefix="Member names unavailable:" />
      <ErrorAlert error={error} prefix="The audit log could not be read:" />
      {types.length === 0 ? <p role="status">Select at least one event type to see events.</p> : null}
      {types.length > 0 && loaded && !loading && !error && events.length === 0 ? (
        <p role="status" className="muted">
          No events {userId || types.length < EVENT_TYPES.length ? 'match these filters' : 'yet'}.
        </p>
      ) : null}
      {events.length > 0 ? (
        <table className="events">
          <caption className="sr-only">Membership events, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Member</th>
              <th scope="col">By</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-testid={`event-${e.id}`}>
                <td>
                  {when(e.occurredAt)}
                  <div className="muted">#{e.id}</div>
                </td>
                <td>
                  <span className={`tag event-${e.type.toLowerCase()}`}>{eventTypeLabel(e.type)}</span>
                </td>
                <th scope="row">{names.emails.get(e.userId) ?? <code>{e.userId}</code>}</th>
                <td>
                  {actorText(e.actor, names)}
                  <div className="muted">
                    <code>{e.actor}</code>
                  </div>
                </td>
                <td>
                  {changeText(e, names).map((line) => (
                    <div key={line}>{line}</div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="row">
        {types.length > 0 && loaded ? (
          <Button onClick={() => void load(next.endCursor)} busy={loading} disabled={loading}>
            {next.hasNextPage ? 'Load more' : 'Check for newer events'}
          </Button>
        ) : null}
        <span className="muted" role="status">
          {loading ? 'Loading…' : `${events.length} event${events.length === 1 ? '' : 's'} shown${next.hasNextPage ? '; more to load' : ''}`}
        </span>
      </div>
    </>
  );
};
