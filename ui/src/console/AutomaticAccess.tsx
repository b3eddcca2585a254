// Automatic user access: SSO users of trusted connections join with a default role, optionally only from some email domains.
import { type FormEvent, useEffect, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import type { OrganizationRole } from '../gql/graphql';
import { Button, ErrorAlert, Notice } from '../kit';
import { ROLES, roleLabel } from '../labels';
import type { ConsolePageProps } from './sections';

const ConsoleAutomaticAccessDocument = graphql(`
  query ConsoleAutomaticAccess($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      automaticUserAccess {
        enabled
        defaultRole
        allowedDomains
      }
    }
  }
`);

const SetAutomaticUserAccessDocument = graphql(`
  mutation SetAutomaticUserAccess($organizationId: ID!, $input: AutomaticUserAccessInput!) {
    setAutomaticUserAccess(organizationId: $organizationId, input: $input) {
      id
      automaticUserAccess {
        enabled
        defaultRole
        allowedDomains
      }
    }
  }
`);

export const AutomaticAccess = ({ organizationId, organizationName }: ConsolePageProps) => {
  const [{ data, error }] = useQuery({ query: ConsoleAutomaticAccessDocument, variables: { organizationId }, requestPolicy: 'cache-and-network' });
  const [saved, save] = useMutation(SetAutomaticUserAccessDocument);
  const [enabled, setEnabled] = useState(false);
  const [defaultRole, setDefaultRole] = useState<OrganizationRole>('MEMBER');
  const [domains, setDomains] = useState('');
  const [done, setDone] = useState(false);
  const current = data?.organization?.automaticUserAccess;

  useEffect(() => {
    if (!current) return;
    setEnabled(current.enabled);
    setDefaultRole(current.defaultRole);
    setDomains(current.allowedDomains.join('\n'));
  }, [current]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    const allowedDomains = domains
      .split(/[\s,]+/)
      .map((d) => d.trim())
      .filter(Boolean);
    const result = await save({ organizationId, input: { enabled, defaultRole, allowedDomains } });
    setDone(!result.error);
  };

  return (
    <>
      <h1>Automatic user access</h1>
      <p>
        People who sign in through an SSO connection that {organizationName} trusts join it by themselves, with the default role, when their
        email domain is allowed.
      </p>
      <ErrorAlert error={error} />
      <form className="card" onSubmit={(e) => void submit(e)}>
        <div className="row">
          <input id="jit-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          <label htmlFor="jit-enabled">Let SSO users join automatically</label>
        </div>
        <label htmlFor="jit-role">Default role</label>
        <select id="jit-role" value={defaultRole} onChange={(e) => setDefaultRole(e.target.value as OrganizationRole)}>
          {ROLES.filter((r) => r !== 'ORG_ADMIN').map((r) => (
            <option key={r} value={r}>
              {roleLabel(r)}
            </option>
          ))}
        </select>
        <label htmlFor="jit-domains">Allowed email domains (empty: any)</label>
        <textarea id="jit-domains" rows={3} value={domains} onChange={(e) => setDomains(e.target.value)} />
        <Button type="submit" className="primary" busy={saved.fetching}>
          Save
        </Button>
        <ErrorAlert error={saved.error} prefix="Not saved:" />
        {done ? <Notice>Saved.</Notice> : null}
      </form>
    </>
  );
};
