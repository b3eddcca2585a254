/**
 * schema.graphql is the contract clients read. This fails when the schema the code
 * builds differs from the committed file; `npm run schema:emit` rewrites the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { buildSchema as parseSdl } from 'graphql';
import { expect, test } from 'vitest';
import { printGraphQLSchema } from '../../src/transports/graphql/schema.js';

const FILE = new URL('../../schema.graphql', import.meta.url);

test('the built schema equals the committed schema.graphql', async () => {
  const built = await printGraphQLSchema();
  if (process.env.UPDATE_SCHEMA === '1') writeFileSync(FILE, built);
  const committed = readFileSync(FILE, 'utf8');
  expect(built, 'schema drift: run `npm run schema:emit` and review the diff').toBe(committed);
});

test('the schema has the names SPEC §4 promises', () => {
  const schema = parseSdl(readFileSync(FILE, 'utf8'));
  const fields = (type: string) => Object.keys((schema.getType(type) as unknown as { getFields(): object }).getFields());
  expect(fields('Query')).toEqual(expect.arrayContaining(['viewer', 'organization']));
  expect(fields('Viewer')).toEqual(expect.arrayContaining(['user', 'currentOrganization', 'currentMembership', 'organizations', 'accessToken']));
  expect(fields('OrganizationConnection')).toEqual(expect.arrayContaining(['edges', 'pageInfo', 'totalCount']));
  expect(fields('OrganizationEdge')).toEqual(expect.arrayContaining(['cursor', 'node', 'membership']));
  expect(fields('Organization')).toEqual(expect.arrayContaining(['id', 'name', 'viewerMembership', 'automaticUserAccess', 'members', 'teams']));
  expect(fields('Membership')).toEqual(
    expect.arrayContaining(['id', 'user', 'organization', 'role', 'status', 'source', 'teams', 'permissions', 'lastVisitedAt', 'createdAt', 'updatedAt']),
  );
  expect(fields('AccessToken')).toEqual(expect.arrayContaining(['token', 'expiresAt', 'organizationId']));
  expect(fields('SwitchOrganizationPayload')).toEqual(expect.arrayContaining(['viewer', 'organization', 'membership', 'accessToken']));
  expect(fields('Mutation')).toEqual(
    expect.arrayContaining([
      'switchOrganization', 'stageUser', 'inviteUser', 'setMembershipStatus', 'setMembershipRole', 'removeMember',
      'setAutomaticUserAccess', 'createOrganization', 'createTeam', 'updateTeam', 'deleteTeam', 'addTeamMembers',
      'removeTeamMembers', 'createApiToken', 'signOut',
    ]),
  );
  expect(fields('Subscription')).toEqual(['membershipChanged']);
  const enumValues = (name: string) => (schema.getType(name) as unknown as { getValues(): { name: string }[] }).getValues().map((v) => v.name);
  expect(enumValues('MembershipEventType')).toEqual(['JOINED', 'ROLE_CHANGED', 'STATUS_CHANGED', 'TEAMS_CHANGED', 'LEFT']);
  expect(enumValues('OrganizationRole')).toEqual(['ORG_ADMIN', 'ADMIN', 'MEMBER', 'VIEWER', 'NO_ACCESS']);
  expect(enumValues('UserStatus')).toEqual(['STAGED', 'INVITED', 'ACTIVE', 'DISABLED']);
  expect(schema.getType('DateTime')).toBeDefined();
});
