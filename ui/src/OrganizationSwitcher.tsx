// Top left: the current organization's initials and name; opens the list of the viewer's organizations.
import { useEffect, useRef, useState } from 'react';
import { useMutation } from 'urql';
import type { Viewer } from './App';
import { graphql } from './gql';
import type { OrganizationRole, UserStatus } from './gql/graphql';
import { ErrorAlert, initials } from './kit';

export const SwitchOrganizationDocument = graphql(`
  mutation SwitchOrganization($organizationId: ID!) {
    switchOrganization(organizationId: $organizationId) {
      organization {
        id
        name
      }
      membership {
        id
        role
        status
      }
    }
  }
`);

/** Why a membership cannot be entered, in words; null when it can. */
export const cannotEnterReason = (m: { role: OrganizationRole; status: UserStatus }): string | null => {
  if (m.status === 'DISABLED') return 'Your membership is disabled; an organization admin can re-enable it.';
  if (m.role === 'NO_ACCESS') return 'Your role here is No access; an organization admin can change it.';
  return null;
};

export const useSwitchOrganization = (onSwitched: () => void) => {
  const [state, switchTo] = useMutation(SwitchOrganizationDocument);
  const run = async (organizationId: string) => {
    const result = await switchTo({ organizationId });
    if (!result.error) onSwitched();
    return result;
  };
  return [state, run] as const;
};

export const OrganizationSwitcher = ({ viewer, onSwitched }: { viewer: Viewer; onSwitched: () => void }) => {
  const [open, setOpen] = useState(false);
  const [state, switchTo] = useSwitchOrganization(() => {
    setOpen(false);
    onSwitched();
  });
  const root = useRef<HTMLDivElement>(null);
  const current = viewer.currentOrganization;

  useEffect(() => {
    if (!open) return;
    const close = (event: Event) => {
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  return (
    <div className="switcher" ref={root}>
      <button
        type="button"
        className="switcher-button"
        aria-haspopup="true"
        aria-expanded={open}
        aria-controls="organization-list"
        onClick={() => setOpen(!open)}
      >
        <span className="initials" aria-hidden="true">
          {current ? initials(current.name) : '–'}
        </span>
        <span className="current-name" data-testid="current-organization">
          {current ? current.name : 'No organization'}
        </span>
        <span className="sr-only">: switch organization</span>
        <span aria-hidden="true">▾</span>
      </button>
      {open ? (
        <div id="organization-list" className="switcher-menu">
          <h2 className="sr-only">Your organizations</h2>
          <ul>
            {viewer.organizations.edges.map(({ node, membership }) => {
              const reason = cannotEnterReason(membership);
              const isCurrent = node.id === current?.id;
              return (
                <li key={node.id} className={reason ? 'disabled' : undefined}>
                  <button
                    type="button"
                    disabled={!!reason || state.fetching}
                    aria-current={isCurrent ? 'true' : undefined}
                    aria-describedby={reason ? `reason-${node.id}` : undefined}
                    onClick={() => void switchTo(node.id)}
                  >
                    <span className="initials small" aria-hidden="true">
                      {initials(node.name)}
                    </span>
                    <span>{node.name}</span>
                    {isCurrent ? <span className="tag">current</span> : null}
                  </button>
                  {reason ? (
                    <p id={`reason-${node.id}`} className="reason">
                      {reason}
                    </p>
                  ) : null}
                </li>
              );
            })}
          </ul>
          <ErrorAlert error={state.error} prefix="Could not switch:" />
        </div>
      ) : null}
    </div>
  );
};
