// Teams: name, policies (permission strings added to members' permissions) and members.
import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import { Button, ErrorAlert } from '../kit';
import type { ConsolePageProps } from './sections';

const ConsoleTeamsDocument = graphql(`
  query ConsoleTeams($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      teams {
        id
        name
        policies
        externalId
      }
      members(first: 100) {
        edges {
          node {
            id
            user {
              id
              email
            }
            teams {
              id
            }
          }
        }
      }
    }
  }
`);

const CreateTeamDocument = graphql(`
  mutation CreateTeam($organizationId: ID!, $name: String!, $policies: [String!]!) {
    createTeam(organizationId: $organizationId, input: { name: $name, policies: $policies }) {
      id
      name
      policies
    }
  }
`);

const UpdateTeamPoliciesDocument = graphql(`
  mutation UpdateTeamPolicies($organizationId: ID!, $teamId: ID!, $policies: [String!]!) {
    updateTeam(organizationId: $organizationId, teamId: $teamId, input: { policies: $policies }) {
      id
      policies
    }
  }
`);

const DeleteTeamDocument = graphql(`
  mutation DeleteTeam($organizationId: ID!, $teamId: ID!) {
    deleteTeam(organizationId: $organizationId, teamId: $teamId)
  }
`);

const AddTeamMembersDocument = graphql(`
  mutation AddTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {
    addTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {
      id
    }
  }
`);

const RemoveTeamMembersDocument = graphql(`
  mutation RemoveTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {
    removeTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {
      id
    }
  }
`);

const splitPolicies = (text: string) =>
  text
    .split(/[\n,]+/)
    .map((p) => p.trim())
    .filter(Boolean);

type TeamsData = NonNullable<NonNullable<ReturnType<typeof useTeams>[0]['data']>['organization']>;
const useTeams = (organizationId: string) => useQuery({ query: ConsoleTeamsDocument, variables: { organizationId }, requestPolicy: 'cache-and-network' });

export const Teams = ({ organizationId, organizationName }: ConsolePageProps) => {
  const [{ data, error }, refetch] = useTeams(organizationId);
  const refresh = () => refetch({ requestPolicy: 'network-only' });
  const [created, create] = useMutation(CreateTeamDocument);
  const [name, setName] = useState('');
  const [policies, setPolicies] = useState('');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create({ organizationId, name, policies: splitPolicies(policies) });
    if (!result.error) {
      setName('');
      setPolicies('');
      refresh();
    }
  };

  const org = data?.organization;
  return (
    <>
      <h1>Teams of {organizationName}</h1>
      <ErrorAlert error={error} />
      <section className="card" aria-labelledby="new-team-heading">
        <h2 id="new-team-heading">New team</h2>
        <form onSubmit={(e) => void submit(e)}>
          <label htmlFor="team-name">Name</label>
          <input id="team-name" required value={name} onChange={(e) => setName(e.target.value)} />
          <label htmlFor="team-policies">Policies (one per line or comma-separated)</label>
          <textarea id="team-policies" rows={2} value={policies} onChange={(e) => setPolicies(e.target.value)} />
          <Button type="submit" className="primary" busy={created.fetching}>
            Create team
          </Button>
        </form>
        <ErrorAlert error={created.error} prefix="Not created:" />
      </section>
      {org?.teams.length === 0 ? <p>No teams yet.</p> : null}
      {org?.teams.map((team) => <TeamCard key={team.id} team={team} org={org} organizationId={organizationId} onChanged={refresh} />)}
    </>
  );
};

const TeamCard = ({ team, org, organizationId, onChanged }: { team: TeamsData['teams'][number]; org: TeamsData; organizationId: string; onChanged: () => void }) => {
  const [policies, setPolicies] = useState(team.policies.join('\n'));
  const [saved, save] = useMutation(UpdateTeamPoliciesDocument);
  const [deleted, remove] = useMutation(DeleteTeamDocument);
  const [addedState, add] = useMutation(AddTeamMembersDocument);
  const [removedState, removeMembers] = useMutation(RemoveTeamMembersDocument);
  const [candidate, setCandidate] = useState('');
  const members = org.members.edges.map((e) => e.node);
  const inTeam = members.filter((m) => m.teams.some((t) => t.id === team.id));
  const others = members.filter((m) => !m.teams.some((t) => t.id === team.id));
  const done = (r: { error?: unknown }) => {
    if (!r.error) onChanged();
  };

  return (
    <section className="card" aria-labelledby={`team-${team.id}`}>
      <h2 id={`team-${team.id}`}>
        {team.name} <span className="muted">({team.id}{team.externalId ? `, SCIM ${team.externalId}` : ''})</span>
      </h2>
      <label htmlFor={`policies-${team.id}`}>Policies</label>
      <textarea id={`policies-${team.id}`} rows={2} value={policies} onChange={(e) => setPolicies(e.target.value)} />
      <div className="row">
        <Button busy={saved.fetching} onClick={() => void save({ organizationId, teamId: team.id, policies: splitPolicies(policies) }).then(done)}>
          Save policies
        </Button>
        <Button className="danger" busy={deleted.fetching} onClick={() => void remove({ organizationId, teamId: team.id }).then(done)}>
          Delete team
        </Button>
      </div>
      <h3>Members</h3>
      <ul>
        {inTeam.map((m) => (
          <li key={m.id}>
            {m.user.email}{' '}
            <Button className="link" onClick={() => void removeMembers({ organizationId, teamId: team.id, userIds: [m.user.id] }).then(done)}>
              Remove {m.user.email} from {team.name}
            </Button>
          </li>
        ))}
        {inTeam.length === 0 ? <li className="muted">No members.</li> : null}
      </ul>
      <div className="row">
        <label htmlFor={`add-${team.id}`}>Add member</label>
        <select id={`add-${team.id}`} value={candidate} onChange={(e) => setCandidate(e.target.value)}>
          <option value="">Choose a member…</option>
          {others.map((m) => (
            <option key={m.id} value={m.user.id}>
              {m.user.email}
            </option>
          ))}
        </select>
        <Button busy={addedState.fetching} disabled={!candidate} onClick={() => void add({ organizationId, teamId: team.id, userIds: [candidate] }).then(done)}>
          Add
        </Button>
      </div>
      <ErrorAlert error={saved.error ?? deleted.error ?? addedState.error ?? removedState.error} />
    </section>
  );
};
