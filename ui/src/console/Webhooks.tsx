// Webhooks: endpoints (create with the secret shown once, edit, disable / enable, rotate, delete) and one endpoint's recent deliveries.
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { type CombinedError, useClient, useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import type { ConsoleWebhookDeliveriesQuery, ConsoleWebhookEndpointsQuery, MembershipEventType, WebhookDeliveryStatus } from '../gql/graphql';
import { Button, CopyField, ErrorAlert, Notice, when } from '../kit';
import { EVENT_TYPES, eventTypeLabel } from '../labels';
import type { ConsolePageProps } from './sections';

const ConsoleWebhookEndpointsDocument = graphql(`
  query ConsoleWebhookEndpoints($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      webhookEndpoints {
        id
        url
        eventTypes
        enabled
        disabledReason
        disabledAt
        lastEventId
        failingSince
        nextAttemptAt
        previousSecretExpiresAt
        createdAt
      }
    }
  }
`);

// The schema reaches deliveries only through the list of endpoints; the page asks for them only
// while one endpoint's deliveries are open, with a small page, and shows that endpoint's.
const ConsoleWebhookDeliveriesDocument = graphql(`
  query ConsoleWebhookDeliveries($organizationId: ID!, $first: Int!, $after: String) {
    organization(id: $organizationId) {
      id
      webhookEndpoints {
        id
        deliveries(first: $first, after: $after) {
          pageInfo {
            hasNextPage
          }
          edges {
            node {
              id
              eventId
              attempt
              redelivery
              status
              responseStatus
              durationMs
              error
              attemptedAt
            }
          }
        }
      }
    }
  }
`);

const CreateWebhookEndpointDocument = graphql(`
  mutation CreateWebhookEndpoint($organizationId: ID!, $input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(organizationId: $organizationId, input: $input) {
      secret
      endpoint {
        id
        url
      }
    }
  }
`);

const UpdateWebhookEndpointDocument = graphql(`
  mutation UpdateWebhookEndpoint($organizationId: ID!, $endpointId: ID!, $input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(organizationId: $organizationId, endpointId: $endpointId, input: $input) {
      id
      url
      eventTypes
      enabled
      disabledReason
      disabledAt
      nextAttemptAt
    }
  }
`);

const RotateWebhookSecretDocument = graphql(`
  mutation RotateWebhookSecret($organizationId: ID!, $endpointId: ID!, $overlapSeconds: Int) {
    rotateWebhookSecret(organizationId: $organizationId, endpointId: $endpointId, overlapSeconds: $overlapSeconds) {
      secret
      endpoint {
        id
        previousSecretExpiresAt
      }
    }
  }
`);

const DeleteWebhookEndpointDocument = graphql(`
  mutation DeleteWebhookEndpoint($organizationId: ID!, $endpointId: ID!) {
    deleteWebhookEndpoint(organizationId: $organizationId, endpointId: $endpointId)
  }
`);

const RedeliverWebhookEventDocument = graphql(`
  mutation RedeliverWebhookEvent($organizationId: ID!, $endpointId: ID!, $eventId: ID!) {
    redeliverWebhookEvent(organizationId: $organizationId, endpointId: $endpointId, eventId: $eventId) {
      id
      eventId
      status
      attempt
    }
  }
`);

type Endpoint = NonNullable<ConsoleWebhookEndpointsQuery['organization']>['webhookEndpoints'][number];
type DeliveryPage = NonNullable<ConsoleWebhookDeliveriesQuery['organization']>['webhookEndpoints'][number]['deliveries'];
type Delivery = DeliveryPage['edges'][number]['node'];

/** Newest first: delivery ids increase. */
const newestFirst = (a: Delivery, b: Delivery) => (BigInt(a.id) < BigInt(b.id) ? 1 : BigInt(a.id) > BigInt(b.id) ? -1 : 0);

/** Attempts shown per endpoint: the newest few (each endpoint in the list multiplies the query's cost). */
const DELIVERIES_SHOWN = 10;
/** While deliveries are open the page reads them again this often: the dispatcher works in the background. */
const DELIVERIES_POLL_MS = 3_000;
const MAX_OVERLAP_SECONDS = 604_800;

const STATUS_LABELS: Record<WebhookDeliveryStatus, string> = { PENDING: 'Pending', SUCCEEDED: 'Succeeded', FAILED: 'Failed' };

/** The secret of a new endpoint or a rotation, shown once. */
interface ShownSecret {
  url: string;
  secret: string;
  rotated: boolean;
}

const EventTypeChecks = ({ legend, selected, onChange }: { legend: string; selected: MembershipEventType[]; onChange: (types: MembershipEventType[]) => void }) => (
  <fieldset className="checks">
    <legend>{legend}</legend>
    {EVENT_TYPES.map((type) => (
      <label key={type} className="check">
        <input
          type="checkbox"
          checked={selected.includes(type)}
          onChange={(e) => onChange(e.target.checked ? EVENT_TYPES.filter((t) => t === type || selected.includes(t)) : selected.filter((t) => t !== type))}
        />
        {eventTypeLabel(type)}
      </label>
    ))}
  </fieldset>
);

const SecretOnce = ({ shown, onDone }: { shown: ShownSecret; onDone: () => void }) => (
  <div className="secret" role="status">
    <p>
      <strong>
        Store the {shown.rotated ? 'new ' : ''}signing secret for {shown.url} now: it is not shown again.
      </strong>{' '}
      Your receiver verifies each message with it (any Standard Webhooks library).
    </p>
    <CopyField label="Signing secret" value={shown.secret} />
    <Button onClick={onDone}>I have stored it</Button>
  </div>
);

export const Webhooks = ({ organizationId, organizationName }: ConsolePageProps) => {
  const [{ data, error, fetching }, refetch] = useQuery({ query: ConsoleWebhookEndpointsDocument, variables: { organizationId }, requestPolicy: 'cache-and-network' });
  const refresh = () => refetch({ requestPolicy: 'network-only' });
  const [created, create] = useMutation(CreateWebhookEndpointDocument);
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState<MembershipEventType[]>([...EVENT_TYPES]);
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const [openDeliveries, setOpenDeliveries] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create({ organizationId, input: { url, eventTypes: types } });
    if (result.data) {
      setSecret({ url: result.data.createWebhookEndpoint.endpoint.url, secret: result.data.createWebhookEndpoint.secret, rotated: false });
      setUrl('');
      setTypes([...EVENT_TYPES]);
      refresh();
    }
  };

  const endpoints = data?.organization?.webhookEndpoints;
  return (
    <>
      <h1>Webhooks of {organizationName}</h1>
      <p>
        Each membership event of {organizationName} whose type an endpoint selected is POSTed to it as JSON, signed by the Standard Webhooks scheme, in event order, retried
        with backoff for 24 hours.
      </p>
      <section className="card" aria-labelledby="new-endpoint-heading">
        <h2 id="new-endpoint-heading">New endpoint</h2>
        <form onSubmit={(e) => void submit(e)}>
          <label htmlFor="webhook-url">Endpoint URL</label>
          <input id="webhook-url" type="url" required className="wide" placeholder="https://example.com/webhooks/orgway" value={url} onChange={(e) => setUrl(e.target.value)} />
          <EventTypeChecks legend="Event types to send" selected={types} onChange={setTypes} />
          <Button type="submit" className="primary" busy={created.fetching} disabled={types.length === 0}>
            Create endpoint
          </Button>
        </form>
        <ErrorAlert error={created.error} prefix="Not created:" />
        {secret ? <SecretOnce shown={secret} onDone={() => setSecret(null)} /> : null}
      </section>
      <ErrorAlert error={error} />
      {endpoints?.length === 0 ? <p>No endpoints yet.</p> : null}
      {!endpoints && fetching ? <p role="status">Loading…</p> : null}
      {endpoints?.map((endpoint) => (
        <EndpointCard
          key={endpoint.id}
          endpoint={endpoint}
          organizationId={organizationId}
          deliveriesOpen={openDeliveries === endpoint.id}
          onToggleDeliveries={() => setOpenDeliveries(openDeliveries === endpoint.id ? null : endpoint.id)}
          onChanged={refresh}
        />
      ))}
    </>
  );
};

interface EndpointCardProps {
  endpoint: Endpoint;
  organizationId: string;
  deliveriesOpen: boolean;
  onToggleDeliveries: () => void;
  onChanged: () => void;
}

const EndpointCard = ({ endpoint, organizationId, deliveriesOpen, onToggleDeliveries, onChanged }: EndpointCardProps) => {
  const [updated, update] = useMutation(UpdateWebhookEndpointDocument);
  const [rotated, rotate] = useMutation(RotateWebhookSecretDocument);
  const [deleted, remove] = useMutation(DeleteWebhookEndpointDocument);
  const [editing, setEditing] = useState(false);
  const [editUrl, setEditUrl] = useState(endpoint.url);
  const [editTypes, setEditTypes] = useState<MembershipEventType[]>(endpoint.eventTypes);
  const [overlap, setOverlap] = useState('86400');
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  // A rotated secret is shown in its endpoint's card, where the rotation was asked for.
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const headingId = `endpoint-${endpoint.id}`;

  const after = (what: string) => (result: { error?: CombinedError | undefined }) => {
    if (result.error) return;
    setDone(what);
    onChanged();
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    const result = await update({ organizationId, endpointId: endpoint.id, input: { url: editUrl, eventTypes: editTypes } });
    if (!result.error) setEditing(false);
    after('Saved')(result);
  };

  const rotateSecret = async (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    const result = await rotate({ organizationId, endpointId: endpoint.id, overlapSeconds: Number(overlap) });
    if (result.data) setSecret({ url: endpoint.url, secret: result.data.rotateWebhookSecret.secret, rotated: true });
    after('Secret rotated')(result);
  };

  const setEnabled = (enabled: boolean) => {
    setDone(null);
    void update({ organizationId, endpointId: endpoint.id, input: { enabled } }).then(after(enabled ? 'Enabled' : 'Disabled'));
  };

  return (
    <section className="card endpoint" aria-labelledby={headingId} data-testid={`endpoint-${endpoint.id}`}>
      <h2 id={headingId} className="endpoint-url">
        {endpoint.url}
      </h2>
      <dl className="facts">
        <dt>State</dt>
        <dd>
          <span className={endpoint.enabled ? 'tag on' : 'tag off'} data-testid="endpoint-state">
            {endpoint.enabled ? 'enabled' : 'disabled'}
          </span>
          {!endpoint.enabled && endpoint.disabledReason ? <span className="reason-text"> {endpoint.disabledReason}</span> : null}
          {!endpoint.enabled && endpoint.disabledAt ? <span className="muted"> (since {when(endpoint.disabledAt)})</span> : null}
          {endpoint.enabled && endpoint.failingSince ? <span className="reason-text"> failing since {when(endpoint.failingSince)}; next attempt {when(endpoint.nextAttemptAt)}</span> : null}
        </dd>
        <dt>Event types</dt>
        <dd>{endpoint.eventTypes.map(eventTypeLabel).join(', ')}</dd>
        <dt>Last event handled</dt>
        <dd data-testid="endpoint-last-event">{endpoint.lastEventId === '0' ? 'none yet' : `#${endpoint.lastEventId}`}</dd>
        <dt>Created</dt>
        <dd>{when(endpoint.createdAt)}</dd>
        {endpoint.previousSecretExpiresAt && new Date(endpoint.previousSecretExpiresAt) > new Date() ? (
          <>
            <dt>Previous secret</dt>
            <dd>also signs until {when(endpoint.previousSecretExpiresAt)}</dd>
          </>
        ) : null}
      </dl>
      <div className="actions">
        <Button
          onClick={() => {
            // Start from the endpoint as it is now: it may have changed since the form was last open.
            setEditUrl(endpoint.url);
            setEditTypes(endpoint.eventTypes);
            setEditing(!editing);
          }}
          aria-expanded={editing}
        >
          Edit
        </Button>
        {endpoint.enabled ? (
          <Button busy={updated.fetching} onClick={() => setEnabled(false)}>
            Disable
          </Button>
        ) : (
          <Button busy={updated.fetching} onClick={() => setEnabled(true)}>
            Enable
          </Button>
        )}
        <Button onClick={onToggleDeliveries} aria-expanded={deliveriesOpen}>
          {deliveriesOpen ? 'Hide deliveries' : 'Show deliveries'}
        </Button>
        {confirmDelete ? (
          <>
            <Button className="danger" busy={deleted.fetching} onClick={() => void remove({ organizationId, endpointId: endpoint.id }).then(after('Deleted'))}>
              Confirm deletion of {endpoint.url}
            </Button>
            <Button onClick={() => setConfirmDelete(false)}>Keep it</Button>
          </>
        ) : (
          <Button className="danger" onClick={() => setConfirmDelete(true)}>
            Delete
          </Button>
        )}
      </div>
      {editing ? (
        <form className="subform" onSubmit={(e) => void save(e)}>
          <label htmlFor={`edit-url-${endpoint.id}`}>New URL</label>
          <input id={`edit-url-${endpoint.id}`} type="url" required className="wide" value={editUrl} onChange={(e) => setEditUrl(e.target.value)} />
          <EventTypeChecks legend="Event types to send" selected={editTypes} onChange={setEditTypes} />
          <div className="row">
            <Button type="submit" className="primary" busy={updated.fetching} disabled={editTypes.length === 0}>
              Save
            </Button>
            <Button onClick={() => setEditing(false)}>Cancel</Button>
          </div>
        </form>
      ) : null}
      <form className="row wrap" onSubmit={(e) => void rotateSecret(e)}>
        <label htmlFor={`overlap-${endpoint.id}`}>Old secret keeps signing for (seconds)</label>
        <input
          id={`overlap-${endpoint.id}`}
          type="number"
          min={0}
          max={MAX_OVERLAP_SECONDS}
          required
          className="short"
          value={overlap}
          onChange={(e) => setOverlap(e.target.value)}
          aria-describedby={`overlap-help-${endpoint.id}`}
        />
        <Button type="submit" busy={rotated.fetching}>
          Rotate secret
        </Button>
        <span id={`overlap-help-${endpoint.id}`} className="muted">
          0 to {MAX_OVERLAP_SECONDS} (7 days); meanwhile every message carries both signatures.
        </span>
      </form>
      {secret ? <SecretOnce shown={secret} onDone={() => setSecret(null)} /> : null}
      <ErrorAlert error={updated.error ?? rotated.error ?? deleted.error} />
      {done ? <Notice>{done}.</Notice> : null}
      {deliveriesOpen ? <Deliveries endpoint={endpoint} organizationId={organizationId} onChanged={onChanged} /> : null}
    </section>
  );
};

const Deliveries = ({ endpoint, organizationId, onChanged }: { endpoint: Endpoint; organizationId: string; onChanged: () => void }) => {
  const client = useClient();
  const [{ data, error, fetching }, refetch] = useQuery({
    query: ConsoleWebhookDeliveriesDocument,
    variables: { organizationId, first: DELIVERIES_SHOWN, after: null },
    requestPolicy: 'network-only',
  });
  const [redelivered, redeliver] = useMutation(RedeliverWebhookEventDocument);
  const [requested, setRequested] = useState<string | null>(null);
  // Every attempt read so far, by id: the newest page is read again and again, older pages once.
  const [seen, setSeen] = useState<ReadonlyMap<string, Delivery>>(new Map());
  const [olderLeft, setOlderLeft] = useState<boolean | null>(null);
  const [older, setOlder] = useState<{ fetching: boolean; error: CombinedError | null }>({ fetching: false, error: null });

  const pageOf = (result: ConsoleWebhookDeliveriesQuery | undefined): DeliveryPage | undefined =>
    result?.organization?.webhookEndpoints.find((e) => e.id === endpoint.id)?.deliveries;
  const merge = (page: DeliveryPage) =>
    setSeen((previous) => {
      const next = new Map(previous);
      for (const { node } of page.edges) next.set(node.id, node);
      return next;
    });
  const newest = pageOf(data);
  useEffect(() => {
    if (newest) merge(newest);
  }, [newest]);

  // The newest page as read just now wins over what `seen` holds until the effect has merged it.
  const deliveries = newest ? [...new Map([...seen, ...newest.edges.map((e) => [e.node.id, e.node] as const)]).values()].sort(newestFirst) : undefined;
  const olderMayExist = olderLeft ?? newest?.pageInfo.hasNextPage ?? false;
  const loadOlder = async () => {
    const oldest = deliveries?.at(-1);
    if (!oldest) return;
    setOlder({ fetching: true, error: null });
    // The cursor is a delivery id; other endpoints' pages in the answer are not shown.
    const result = await client.query(ConsoleWebhookDeliveriesDocument, { organizationId, first: DELIVERIES_SHOWN, after: oldest.id }, { requestPolicy: 'network-only' }).toPromise();
    setOlder({ fetching: false, error: result.error ?? null });
    const page = pageOf(result.data);
    if (!page) return;
    merge(page);
    setOlderLeft(page.pageInfo.hasNextPage);
  };

  // The latest callbacks, so the timer is not restarted by every render of the page.
  const reload = useRef(() => undefined as void);
  reload.current = () => {
    refetch({ requestPolicy: 'network-only' });
    onChanged();
  };
  useEffect(() => {
    const timer = setInterval(() => reload.current(), DELIVERIES_POLL_MS);
    return () => clearInterval(timer);
  }, []);

  const captionId = `deliveries-${endpoint.id}`;
  return (
    <div className="deliveries">
      <div className="row">
        <h3 id={captionId}>Recent deliveries</h3>
        <Button onClick={() => refetch({ requestPolicy: 'network-only' })} busy={fetching}>
          Refresh deliveries
        </Button>
        <span className="muted">newest first; the newest {DELIVERIES_SHOWN} are read again every few seconds</span>
      </div>
      <ErrorAlert error={error ?? redelivered.error ?? older.error} />
      {requested ? <Notice>Event #{requested} will be sent again shortly.</Notice> : null}
      {deliveries?.length === 0 ? <p className="muted">No deliveries yet: events created from now on will appear here.</p> : null}
      {deliveries && deliveries.length > 0 ? (
        <table aria-labelledby={captionId}>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Attempt</th>
              <th scope="col">Status</th>
              <th scope="col">Response</th>
              <th scope="col">Duration</th>
              <th scope="col">Error</th>
              <th scope="col">Attempted</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <tr key={d.id} data-testid={`delivery-${d.id}`}>
                <th scope="row">#{d.eventId}</th>
                <td>
                  {d.attempt}
                  {d.redelivery ? <span className="muted"> (redelivery)</span> : null}
                </td>
                <td>
                  <span className={`tag delivery-${d.status.toLowerCase()}`}>{STATUS_LABELS[d.status]}</span>
                </td>
                <td>{d.responseStatus ?? '—'}</td>
                <td>{d.durationMs === null || d.durationMs === undefined ? '—' : `${d.durationMs} ms`}</td>
                <td className="error-text">{d.error ?? ''}</td>
                <td>{when(d.attemptedAt)}</td>
                <td>
                  <Button
                    onClick={() =>
                      void redeliver({ organizationId, endpointId: endpoint.id, eventId: d.eventId }).then((result) => {
                        if (result.error) return;
                        setRequested(d.eventId);
                        refetch({ requestPolicy: 'network-only' });
                      })
                    }
                    aria-label={`Redeliver event ${d.eventId} (attempt ${d.attempt})`}
                  >
                    Redeliver
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {olderMayExist ? (
        <Button onClick={() => void loadOlder()} busy={older.fetching}>
          Show older attempts
        </Button>
      ) : null}
    </div>
  );
};
