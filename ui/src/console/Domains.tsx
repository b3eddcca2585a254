// Verified domains (a DNS TXT record proves them) and required SSO.
import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import { Button, CopyField, ErrorAlert, Notice, when } from '../kit';
import type { ConsolePageProps } from './sections';

const ConsoleDomainsDocument = graphql(`
  query ConsoleDomains($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      requireSso
      domains {
        domain
        verified
        verifiedAt
        txtRecordName
        txtRecordValue
        createdAt
      }
    }
  }
`);

const AddDomainDocument = graphql(`
  mutation AddDomain($organizationId: ID!, $domain: String!) {
    addDomain(organizationId: $organizationId, domain: $domain) {
      domain
      verified
    }
  }
`);

const VerifyDomainDocument = graphql(`
  mutation VerifyDomain($organizationId: ID!, $domain: String!) {
    verifyDomain(organizationId: $organizationId, domain: $domain) {
      domain
      verified
      verifiedAt
    }
  }
`);

const RemoveDomainDocument = graphql(`
  mutation RemoveDomain($organizationId: ID!, $domain: String!) {
    removeDomain(organizationId: $organizationId, domain: $domain)
  }
`);

const SetRequireSsoDocument = graphql(`
  mutation SetRequireSso($organizationId: ID!, $required: Boolean!) {
    setRequireSso(organizationId: $organizationId, required: $required) {
      id
      requireSso
    }
  }
`);

export const Domains = ({ organizationId, organizationName }: ConsolePageProps) => {
  const [{ data, error }, refetch] = useQuery({ query: ConsoleDomainsDocument, variables: { organizationId }, requestPolicy: 'cache-and-network' });
  const refresh = () => refetch({ requestPolicy: 'network-only' });
  const [added, add] = useMutation(AddDomainDocument);
  const [verified, verify] = useMutation(VerifyDomainDocument);
  const [removed, remove] = useMutation(RemoveDomainDocument);
  const [requireSsoState, runSetRequireSso] = useMutation(SetRequireSsoDocument);
  const [domain, setDomain] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const org = data?.organization;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await add({ organizationId, domain });
    if (!result.error) {
      setDomain('');
      refresh();
    }
  };

  return (
    <>
      <h1>Domains and required SSO</h1>
      <ErrorAlert error={error} />
      <section className="card" aria-labelledby="require-sso-heading">
        <h2 id="require-sso-heading">Required SSO</h2>
        <p>
          {org?.requireSso
            ? `${organizationName} requires SSO: members sign in through a trusted connection; email codes are refused.`
            : `${organizationName} accepts email sign-in as well as SSO.`}
        </p>
        <Button
          busy={requireSsoState.fetching}
          onClick={() => {
            void runSetRequireSso({ organizationId, required: !org?.requireSso }).then((r) => {
              if (!r.error) setNotice(r.data?.setRequireSso.requireSso ? 'SSO is now required.' : 'Email sign-in is accepted again.');
            });
          }}
        >
          {org?.requireSso ? 'Stop requiring SSO' : 'Require SSO'}
        </Button>
        <ErrorAlert error={requireSsoState.error} prefix="Not changed:" />
        {notice ? <Notice>{notice}</Notice> : null}
      </section>
      <section className="card" aria-labelledby="domains-heading">
        <h2 id="domains-heading">Verified domains</h2>
        <p className="muted">Sign-ins with an email of a verified domain go straight to this organization&apos;s SSO while SSO is required.</p>
        <form className="row" onSubmit={(e) => void submit(e)}>
          <label htmlFor="new-domain">Domain</label>
          <input id="new-domain" required placeholder="example.com" value={domain} onChange={(e) => setDomain(e.target.value)} />
          <Button type="submit" busy={added.fetching}>
            Add domain
          </Button>
        </form>
        <ErrorAlert error={added.error ?? verified.error ?? removed.error} />
        {org?.domains.map((d) => (
          <div key={d.domain} className="domain">
            <h3>
              {d.domain} <span className="tag">{d.verified ? `verified ${when(d.verifiedAt)}` : 'not verified'}</span>
            </h3>
            {d.verified ? null : (
              <>
                <p className="muted">Publish this DNS TXT record, then verify:</p>
                <CopyField label={`TXT record name for ${d.domain}`} value={d.txtRecordName} />
                <CopyField label={`TXT record value for ${d.domain}`} value={d.txtRecordValue} />
              </>
            )}
            <div className="row">
              {d.verified ? null : (
                <Button busy={verified.fetching} onClick={() => void verify({ organizationId, domain: d.domain }).then(refresh)}>
                  Verify {d.domain}
                </Button>
              )}
              <Button className="danger" onClick={() => void remove({ organizationId, domain: d.domain }).then(refresh)}>
                Remove {d.domain}
              </Button>
            </div>
          </div>
        ))}
      </section>
    </>
  );
};
