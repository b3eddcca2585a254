// SSO connections: create from IdP metadata (paste or upload), what to give the IdP, trust/untrust, recent refused sign-ins.
import { type ChangeEvent, type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import type { ConsoleSamlConnectionsQuery } from '../gql/graphql';
import { Button, CopyField, ErrorAlert, Notice, when } from '../kit';
import type { ConsolePageProps } from './sections';

const ConsoleSamlConnectionsDocument = graphql(`
  query ConsoleSamlConnections($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      trustedSamlConnectionIds
      samlConnections {
        id
        name
        ownerOrganizationId
        idpEntityId
        ssoUrl
        attributePrefix
        defaultOrganizationId
        allowIdpInitiated
        acsUrl
        spEntityId
        loginUrl
        createdAt
        signingCertificates {
          fingerprintSha256
          subject
          validTo
        }
      }
    }
  }
`);

const SamlSignInFailuresDocument = graphql(`
  query SamlSignInFailures($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      samlConnections(owned: true) {
        id
        recentSignInFailures(first: 20) {
          id
          code
          message
          detail
          email
          occurredAt
        }
      }
    }
  }
`);

const CreateSamlConnectionDocument = graphql(`
  mutation CreateSamlConnection($organizationId: ID!, $metadataXml: String!, $settings: SamlConnectionSettingsInput) {
    createSamlConnection(organizationId: $organizationId, metadataXml: $metadataXml, settings: $settings) {
      id
      name
    }
  }
`);

const TrustSamlConnectionDocument = graphql(`
  mutation TrustSamlConnection($organizationId: ID!, $connectionId: ID!) {
    trustSamlConnection(organizationId: $organizationId, connectionId: $connectionId) {
      id
    }
  }
`);

const UntrustSamlConnectionDocument = graphql(`
  mutation UntrustSamlConnection($organizationId: ID!, $connectionId: ID!) {
    untrustSamlConnection(organizationId: $organizationId, connectionId: $connectionId)
  }
`);

type Connection = NonNullable<ConsoleSamlConnectionsQuery['organization']>['samlConnections'][number];

export const SsoConnections = ({ organizationId, organizationName }: ConsolePageProps) => {
  const [{ data, error }, refetch] = useQuery({ query: ConsoleSamlConnectionsDocument, variables: { organizationId }, requestPolicy: 'cache-and-network' });
  const refresh = () => refetch({ requestPolicy: 'network-only' });
  const [created, create] = useMutation(CreateSamlConnectionDocument);
  const [trusted, trust] = useMutation(TrustSamlConnectionDocument);
  const [metadataXml, setMetadataXml] = useState('');
  const [name, setName] = useState('');
  const [attributePrefix, setAttributePrefix] = useState('');
  const [allowIdpInitiated, setAllowIdpInitiated] = useState(false);
  const [trustId, setTrustId] = useState('');
  const [notice, setNotice] = useState<string | null>(null);

  const upload = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) setMetadataXml(await file.text());
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setNotice(null);
    const settings = {
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(attributePrefix.trim() ? { attributePrefix: attributePrefix.trim() } : {}),
      allowIdpInitiated,
      defaultOrganizationId: organizationId,
    };
    const result = await create({ organizationId, metadataXml, settings });
    if (result.data) {
      setNotice(`Created ${result.data.createSamlConnection.name}; give the IdP the URLs below.`);
      setMetadataXml('');
      refresh();
    }
  };

  const connections = data?.organization?.samlConnections ?? [];
  const trustedIds = new Set(data?.organization?.trustedSamlConnectionIds ?? []);
  return (
    <>
      <h1>SSO connections</h1>
      <ErrorAlert error={error} />
      {connections.length === 0 && data ? <p>{organizationName} has no SSO connection yet.</p> : null}
      {connections.map((c) => (
        <ConnectionCard key={c.id} connection={c} trusted={trustedIds.has(c.id)} organizationId={organizationId} onChanged={refresh} />
      ))}
      {connections.some((c) => c.ownerOrganizationId === organizationId) ? <SignInFailures organizationId={organizationId} connections={connections} /> : null}
      <section className="card" aria-labelledby="new-connection-heading">
        <h2 id="new-connection-heading">New SAML connection</h2>
        <form onSubmit={(e) => void submit(e)}>
          <label htmlFor="idp-metadata">IdP metadata XML</label>
          <textarea id="idp-metadata" rows={6} required value={metadataXml} onChange={(e) => setMetadataXml(e.target.value)} spellCheck={false} />
          <label htmlFor="idp-metadata-file">…or upload the metadata file</label>
          <input id="idp-metadata-file" type="file" accept=".xml,application/xml,text/xml" onChange={(e) => void upload(e)} />
          <label htmlFor="connection-name">Name (optional)</label>
          <input id="connection-name" value={name} onChange={(e) => setName(e.target.value)} />
          <label htmlFor="attribute-prefix">Attribute prefix (optional, default SPOTINST)</label>
          <input id="attribute-prefix" value={attributePrefix} onChange={(e) => setAttributePrefix(e.target.value)} />
          <div className="row">
            <input id="allow-idp-initiated" type="checkbox" checked={allowIdpInitiated} onChange={(e) => setAllowIdpInitiated(e.target.checked)} />
            <label htmlFor="allow-idp-initiated">Accept IdP-initiated sign-ins (from the IdP&apos;s app tile)</label>
          </div>
          <Button type="submit" className="primary" busy={created.fetching}>
            Create connection
          </Button>
        </form>
        <ErrorAlert error={created.error} prefix="Not created:" />
        {notice ? <Notice>{notice}</Notice> : null}
      </section>
      <section className="card" aria-labelledby="trust-heading">
        <h2 id="trust-heading">Trust another organization&apos;s connection</h2>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void trust({ organizationId, connectionId: trustId.trim() }).then((r) => {
              if (!r.error) {
                setTrustId('');
                refresh();
              }
            });
          }}
        >
          <label htmlFor="trust-connection-id">Connection id</label>
          <input id="trust-connection-id" required value={trustId} onChange={(e) => setTrustId(e.target.value)} />
          <Button type="submit" busy={trusted.fetching}>
            Trust
          </Button>
        </form>
        <ErrorAlert error={trusted.error} prefix="Not trusted:" />
      </section>
    </>
  );
};

const ConnectionCard = ({ connection: c, trusted: isTrusted, organizationId, onChanged }: { connection: Connection; trusted: boolean; organizationId: string; onChanged: () => void }) => {
  const [untrusted, untrust] = useMutation(UntrustSamlConnectionDocument);
  const [trusted, trust] = useMutation(TrustSamlConnectionDocument);
  const [result, setResult] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby={`connection-${c.id}`} data-testid={`connection-${c.id}`}>
      <h2 id={`connection-${c.id}`}>
        {c.name} <span className="muted">({c.id})</span>{' '}
        <span className="tag" data-testid="trust-state">
          {isTrusted ? 'trusted' : 'not trusted'}
        </span>
      </h2>
      <p>{isTrusted ? 'Its sign-ins reach this organization.' : 'Its sign-ins do not reach this organization until you trust it.'}</p>
      <p className="muted">
        IdP {c.idpEntityId} · prefix {c.attributePrefix} · {c.ownerOrganizationId === organizationId ? 'owned by this organization' : `owned by ${c.ownerOrganizationId}`}
        {c.allowIdpInitiated ? ' · IdP-initiated sign-ins accepted' : ''}
      </p>
      <CopyField label="ACS URL (Assertion Consumer Service, HTTP-POST)" value={c.acsUrl} />
      <CopyField label="SP entity id and metadata URL" value={c.spEntityId} />
      <CopyField label="Sign-in URL" value={`${c.loginUrl}?organizationId=${encodeURIComponent(organizationId)}`} />
      <p className="muted">
        Signing certificates: {c.signingCertificates.map((cert) => `${cert.subject} (valid to ${when(cert.validTo)})`).join('; ')}
      </p>
      <div className="row">
        {isTrusted ? (
          <Button
            busy={untrusted.fetching}
            onClick={() =>
              void untrust({ organizationId, connectionId: c.id }).then((r) => {
                if (!r.error) setResult('No longer trusted: members signed in only through it lose this organization at once.');
                onChanged();
              })
            }
          >
            Untrust {c.name}
          </Button>
        ) : (
          <Button
            busy={trusted.fetching}
            onClick={() =>
              void trust({ organizationId, connectionId: c.id }).then((r) => {
                if (!r.error) setResult('Trusted: its sign-ins reach this organization.');
                onChanged();
              })
            }
          >
            Trust {c.name}
          </Button>
        )}
      </div>
      {result ? <Notice>{result}</Notice> : null}
      <ErrorAlert error={untrusted.error ?? trusted.error} />
    </section>
  );
};

const SignInFailures = ({ organizationId, connections }: { organizationId: string; connections: Connection[] }) => {
  const [{ data, error, fetching }, refetch] = useQuery({ query: SamlSignInFailuresDocument, variables: { organizationId }, requestPolicy: 'network-only' });
  const names = new Map(connections.map((c) => [c.id, c.name]));
  const failures = (data?.organization?.samlConnections ?? []).flatMap((c) => c.recentSignInFailures.map((f) => ({ ...f, connection: names.get(c.id) ?? c.id })));
  failures.sort((a, b) => (a.occurredAt < b.occurredAt ? 1 : -1));
  return (
    <section className="card" aria-labelledby="failures-heading">
      <h2 id="failures-heading">Recent refused sign-ins</h2>
      <p className="muted">Through the connections this organization owns; the owners of the others see theirs.</p>
      <Button busy={fetching} onClick={() => refetch({ requestPolicy: 'network-only' })}>
        Refresh
      </Button>
      <ErrorAlert error={error} />
      {failures.length === 0 && data ? <p>None.</p> : null}
      {failures.length ? (
        <table>
          <caption className="sr-only">Refused sign-ins</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Connection</th>
              <th scope="col">Email</th>
              <th scope="col">Code</th>
              <th scope="col">What the user saw</th>
              <th scope="col">Refused at</th>
            </tr>
          </thead>
          <tbody>
            {failures.map((f) => (
              <tr key={f.id}>
                <td>{when(f.occurredAt)}</td>
                <td>{f.connection}</td>
                <td>{f.email ?? '—'}</td>
                <td>{f.code}</td>
                <td>{f.message}</td>
                <td>{f.detail ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
};
