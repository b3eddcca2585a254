// Members: filter by status; invite, stage, change role or status, remove. The list follows membershipChanged live.
import { type FormEvent, useState } from 'react';
import { type CombinedError, useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../gql';
import type { OrganizationRole, UserStatus } from '../gql/graphql';
import { Button, ErrorAlert, Notice, when } from '../kit';
import { ROLES, roleLabel, sourceLabel, STATUSES, statusLabel } from '../labels';
import type { ConsolePageProps } from './sections';

const ConsoleMembersDocument = graphql(`
  query ConsoleMembers($organizationId: ID!, $status: UserStatus, $after: String) {
    organization(id: $organizationId) {
      id
      members(first: 100, status: $status, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            role
            status
            source
            updatedAt
            user {
              id
              email
              displayName
            }
            teams {
              id
              name
            }
          }
        }
      }
    }
  }
`);

const OrganizationMembershipChangedDocument = graphql(`
  subscription OrganizationMembershipChanged($organizationId: ID!, $after: ID) {
    membershipChanged(organizationId: $organizationId, after: $after) {
      id
      type
      userId
      role
      status
      actor
      occurredAt
    }
  }
`);

const InviteUserDocument = graphql(`
  mutation InviteUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {
    inviteUser(organizationId: $organizationId, email: $email, role: $role) {
      id
      role
      status
    }
  }
`);

const StageUserDocument = graphql(`
  mutation StageUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {
    stageUser(organizationId: $organizationId, email: $email, role: $role) {
      id
      role
      status
    }
  }
`);

const SetMembershipRoleDocument = graphql(`
  mutation SetMembershipRole($organizationId: ID!, $userId: ID!, $role: OrganizationRole!) {
    setMembershipRole(organizationId: $organizationId, userId: $userId, role: $role) {
      id
      role
      status
    }
  }
`);

const SetMembershipStatusDocument = graphql(`
  mutation SetMembershipStatus($organizationId: ID!, $userId: ID!, $status: UserStatus!) {
    setMembershipStatus(organizationId: $organizationId, userId: $userId, status: $status) {
      id
      role
      status
    }
  }
`);

const RemoveMemberDocument = graphql(`
  mutation RemoveMember($organizationId: ID!, $userId: ID!) {
    removeMember(organizationId: $organizationId, userId: $userId)
  }
`);

const ResendInvitationDocument = graphql(`
  mutation ResendInvitation($organizationId: ID!, $userId: ID!) {
    resendInvitation(organizationId: $organizationId, userId: $userId) {
      id
      status
    }
  }
`);

const RevokeInvitationDocument = graphql(`
  mutation RevokeInvitation($organizationId: ID!, $userId: ID!) {
    revokeInvitation(organizationId: $organizationId, userId: $userId)
  }
`);

interface RowOutcome {
  userId: string;
  error?: CombinedError;
  what: string;
}

export const Members = ({ organizationId, organizationName }: ConsolePageProps) => {
  const [status, setStatus] = useState<UserStatus | ''>('');
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1) ?? null;
  const [{ data, error, fetching }, refetch] = useQuery({
    query: ConsoleMembersDocument,
    variables: { organizationId, status: status || null, after },
    requestPolicy: 'cache-and-network',
  });
  const [live] = useSubscription({ query: OrganizationMembershipChangedDocument, variables: { organizationId, after: null } }, (_previous, event) => {
    // Another admin, SCIM, SAML or JIT changed a membership: read the list again.
    refetch({ requestPolicy: 'network-only' });
    return event;
  });
  const refresh = () => refetch({ requestPolicy: 'network-only' });

  const [invite, runInvite] = useMutation(InviteUserDocument);
  const [stage, runStage] = useMutation(StageUserDocument);
  const [, setRole] = useMutation(SetMembershipRoleDocument);
  const [, setMembershipStatus] = useMutation(SetMembershipStatusDocument);
  const [, removeMember] = useMutation(RemoveMemberDocument);
  const [, resend] = useMutation(ResendInvitationDocument);
  const [, revoke] = useMutation(RevokeInvitationDocument);
  const [email, setEmail] = useState('');
  const [role, setNewRole] = useState<OrganizationRole>('MEMBER');
  const [added, setAdded] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<RowOutcome | null>(null);
  const [busyRow, setBusyRow] = useState<string | null>(null);
  const [confirmRemove, setConfirmRemove] = useState<string | null>(null);

  const add = async (how: 'invite' | 'stage', event?: FormEvent) => {
    event?.preventDefault();
    setAdded(null);
    const result = how === 'invite' ? await runInvite({ organizationId, email, role }) : await runStage({ organizationId, email, role });
    if (!result.error) {
      setAdded(how === 'invite' ? `Invited ${email}; the invitation email is on its way.` : `Staged ${email}.`);
      setEmail('');
      refresh();
    }
  };

  const rowAction = async (userId: string, what: string, action: () => Promise<{ error?: CombinedError | undefined }>) => {
    setBusyRow(userId);
    setOutcome(null);
    const result = await action();
    setBusyRow(null);
    setOutcome({ userId, what, ...(result.error ? { error: result.error } : {}) });
    if (!result.error) refresh();
  };

  const members = data?.organization?.members;
  return (
    <>
      <h1>Members of {organizationName}</h1>
      <p className="live" role="status" aria-live="polite">
        {live.error ? 'Live updates paused: ' + (live.error.graphQLErrors[0]?.message ?? 'reconnecting…') : live.data ? 'Live: updated just now' : 'Live updates on'}
      </p>
      <section className="card" aria-labelledby="add-member-heading">
        <h2 id="add-member-heading">Add a member</h2>
        <form className="row wrap" onSubmit={(e) => void add('invite', e)}>
          <label htmlFor="member-email">Email</label>
          <input id="member-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <label htmlFor="member-role">Role</label>
          <select id="member-role" value={role} onChange={(e) => setNewRole(e.target.value as OrganizationRole)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </select>
          <Button type="submit" className="primary" busy={invite.fetching}>
            Invite
          </Button>
          <Button busy={stage.fetching} onClick={() => void add('stage')} disabled={!email}>
            Stage
          </Button>
        </form>
        <p className="muted">Invite sends an email with a sign-in link; Stage adds the member without telling them (they become active when they first sign in).</p>
        <ErrorAlert error={invite.error ?? stage.error} prefix="Not added:" />
        {added ? <Notice>{added}</Notice> : null}
      </section>
      <div className="row">
        <label htmlFor="status-filter">Show</label>
        <select
          id="status-filter"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value as UserStatus | '');
            setCursors([]);
          }}
        >
          <option value="">All statuses</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </select>
        <span className="muted">{members ? `${members.totalCount} member${members.totalCount === 1 ? '' : 's'}` : fetching ? 'Loading…' : ''}</span>
      </div>
      <ErrorAlert error={error} />
      {outcome?.error ? <ErrorAlert error={outcome.error} prefix={`${outcome.what}:`} /> : null}
      {outcome && !outcome.error ? <Notice>{outcome.what}: done.</Notice> : null}
      <table className="members">
        <caption className="sr-only">Members</caption>
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Source</th>
            <th scope="col">Teams</th>
            <th scope="col">Changed</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {members?.edges.map(({ node: m }) => {
            const who = m.user.email;
            return (
              <tr key={m.id} data-testid={`member-${who}`} aria-busy={busyRow === m.user.id || undefined}>
                <th scope="row">
                  {who}
                  {m.user.displayName ? <div className="muted">{m.user.displayName}</div> : null}
                </th>
                <td>
                  <select
                    aria-label={`Role of ${who}`}
                    value={m.role}
                    onChange={(e) =>
                      void rowAction(m.user.id, `Role of ${who}`, () => setRole({ organizationId, userId: m.user.id, role: e.target.value as OrganizationRole }))
                    }
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {roleLabel(r)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <select
                    aria-label={`Status of ${who}`}
                    value={m.status}
                    onChange={(e) =>
                      void rowAction(m.user.id, `Status of ${who}`, () =>
                        setMembershipStatus({ organizationId, userId: m.user.id, status: e.target.value as UserStatus }),
                      )
                    }
                  >
                    {STATUSES.map((s) => (
                      <option key={s} value={s}>
                        {statusLabel(s)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{sourceLabel(m.source)}</td>
                <td>{m.teams.map((t) => t.name).join(', ') || '—'}</td>
                <td>{when(m.updatedAt)}</td>
                <td>
                  <div className="actions">
                    {m.status === 'INVITED' ? (
                      <>
                        <Button onClick={() => void rowAction(m.user.id, `Invitation of ${who} resent`, () => resend({ organizationId, userId: m.user.id }))}>
                          Resend invitation
                        </Button>
                        <Button onClick={() => void rowAction(m.user.id, `Invitation of ${who} revoked`, () => revoke({ organizationId, userId: m.user.id }))}>
                          Revoke invitation
                        </Button>
                      </>
                    ) : null}
                    {confirmRemove === m.user.id ? (
                      <Button
                        className="danger"
                        onClick={() => {
                          setConfirmRemove(null);
                          void rowAction(m.user.id, `Removal of ${who}`, () => removeMember({ organizationId, userId: m.user.id }));
                        }}
                      >
                        Confirm removal of {who}
                      </Button>
                    ) : (
                      <Button onClick={() => setConfirmRemove(m.user.id)} aria-label={`Remove ${who}`}>
                        Remove
                      </Button>
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <div className="row">
        {cursors.length > 0 ? <Button onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</Button> : null}
        {members?.pageInfo.hasNextPage && members.pageInfo.endCursor ? (
          <Button onClick={() => setCursors([...cursors, members.pageInfo.endCursor!])}>Next page</Button>
        ) : null}
      </div>
    </>
  );
};
