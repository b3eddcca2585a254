// "My organizations": where you are, every membership (greyed out with the reason when it cannot be entered), a new organization.
import { type FormEvent, useState } from 'react';
import { useMutation } from 'urql';
import type { Viewer } from './App';
import { graphql } from './gql';
import { Button, ErrorAlert, initials } from './kit';
import { cannotEnterReason, useSwitchOrganization } from './OrganizationSwitcher';
import { roleLabel, statusLabel } from './labels';

const CreateOrganizationDocument = graphql(`
  mutation CreateOrganization($name: String!) {
    createOrganization(input: { name: $name }) {
      id
      name
    }
  }
`);

export const Organizations = ({ viewer, onSwitched }: { viewer: Viewer; onSwitched: () => void }) => {
  const [switching, switchTo] = useSwitchOrganization(onSwitched);
  const [pending, setPending] = useState<string | null>(null);
  const [creating, create] = useMutation(CreateOrganizationDocument);
  const [name, setName] = useState('');
  const current = viewer.currentOrganization;
  const membership = viewer.currentMembership;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create({ name });
    if (result.data) {
      setName('');
      await switchTo(result.data.createOrganization.id);
    }
  };

  return (
    <>
      <h1>Your organizations</h1>
      {current && membership ? (
        <section className="card current" aria-labelledby="current-heading">
          <h2 id="current-heading">
            You are in <span data-testid="home-organization">{current.name}</span>
          </h2>
          <p>
            {roleLabel(membership.role)} · {statusLabel(membership.status)}
          </p>
          {membership.permissions.length ? (
            <p className="muted">Permissions: {membership.permissions.join(', ')}</p>
          ) : null}
        </section>
      ) : (
        <p>You are not in an organization yet. Pick one below, or create one.</p>
      )}
      <ul className="org-list" aria-label="Organizations">
        {viewer.organizations.edges.map(({ node, membership: m }) => {
          const reason = cannotEnterReason(m);
          const isCurrent = node.id === current?.id;
          return (
            <li key={node.id} className={reason ? 'disabled' : undefined} data-testid={`organization-${node.id}`}>
              <span className="initials" aria-hidden="true">
                {initials(node.name)}
              </span>
              <div className="grow">
                <strong>{node.name}</strong>
                <div className="muted">
                  {roleLabel(m.role)} · {statusLabel(m.status)}
                </div>
                {reason ? <div className="reason">{reason}</div> : null}
              </div>
              {isCurrent ? (
                <span className="tag">current</span>
              ) : reason ? null : (
                <Button
                  busy={switching.fetching && pending === node.id}
                  onClick={() => {
                    setPending(node.id);
                    void switchTo(node.id);
                  }}
                >
                  Switch to {node.name}
                </Button>
              )}
            </li>
          );
        })}
      </ul>
      <ErrorAlert error={switching.error} prefix="Could not switch:" />
      <section className="card" aria-labelledby="create-heading">
        <h2 id="create-heading">New organization</h2>
        <form onSubmit={(e) => void submit(e)} className="row">
          <label htmlFor="new-organization-name">Name</label>
          <input id="new-organization-name" required value={name} onChange={(e) => setName(e.target.value)} />
          <Button type="submit" busy={creating.fetching}>
            Create
          </Button>
        </form>
        <ErrorAlert error={creating.error} />
      </section>
    </>
  );
};
