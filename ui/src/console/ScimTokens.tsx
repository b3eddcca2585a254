// SCIM provisioning: the endpoint URL, tokens (the secret is shown once), revoke.
import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import { Button, CopyField, ErrorAlert, when } from '../kit';
import type { ConsolePageProps } from './sections';

const ConsoleScimTokensDocument = graphql(`
  query ConsoleScimTokens($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      scimTokens {
        id
        name
        createdAt
        revokedAt
      }
    }
  }
`);

const CreateScimTokenDocument = graphql(`
  mutation CreateScimToken($organizationId: ID!, $name: String!) {
    createScimToken(organizationId: $organizationId, name: $name) {
      token
      scimToken {
        id
        name
        createdAt
        revokedAt
      }
    }
  }
`);

const RevokeScimTokenDocument = graphql(`
  mutation RevokeScimToken($organizationId: ID!, $tokenId: ID!) {
    revokeScimToken(organizationId: $organizationId, tokenId: $tokenId) {
      id
      revokedAt
    }
  }
`);

export const ScimTokens = ({ organizationId, organizationName }: ConsolePageProps) => {
  const [{ data, error }, refetch] = useQuery({ query: ConsoleScimTokensDocument, variables: { organizationId }, requestPolicy: 'cache-and-network' });
  const [created, create] = useMutation(CreateScimTokenDocument);
  const [revoked, revoke] = useMutation(RevokeScimTokenDocument);
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create({ organizationId, name });
    if (result.data) {
      setSecret({ name, token: result.data.createScimToken.token });
      setName('');
      refetch({ requestPolicy: 'network-only' });
    }
  };

  return (
    <>
      <h1>SCIM provisioning</h1>
      <p>Your IdP&apos;s provisioning (Okta, Entra ID, …) creates and updates the members and teams of {organizationName} through this endpoint.</p>
      <CopyField label="SCIM endpoint URL (base URL)" value={`${location.origin}/scim/v2`} />
      <section className="card" aria-labelledby="new-token-heading">
        <h2 id="new-token-heading">New token</h2>
        <form className="row" onSubmit={(e) => void submit(e)}>
          <label htmlFor="scim-token-name">Name</label>
          <input id="scim-token-name" required value={name} onChange={(e) => setName(e.target.value)} />
          <Button type="submit" className="primary" busy={created.fetching}>
            Create token
          </Button>
        </form>
        <ErrorAlert error={created.error} prefix="Not created:" />
        {secret ? (
          <div className="secret" role="status">
            <p>
              <strong>Copy the token for {secret.name} now: it is not shown again.</strong>
            </p>
            <CopyField label="SCIM bearer token" value={secret.token} />
            <Button onClick={() => setSecret(null)}>I have stored it</Button>
          </div>
        ) : null}
      </section>
      <ErrorAlert error={error ?? revoked.error} />
      <table>
        <caption className="sr-only">SCIM tokens</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Created</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {data?.organization?.scimTokens.map((t) => (
            <tr key={t.id}>
              <th scope="row">{t.name}</th>
              <td>{when(t.createdAt)}</td>
              <td>{t.revokedAt ? `Revoked ${when(t.revokedAt)}` : 'Active'}</td>
              <td>
                {t.revokedAt ? null : (
                  <Button className="danger" onClick={() => void revoke({ organizationId, tokenId: t.id })}>
                    Revoke {t.name}
                  </Button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
};
