/**
 * SPEC §8 GraphQL cost limits: depth 12, 50 aliases, 10,000 estimated result nodes,
 * refused with QUERY_TOO_COMPLEX before execution, over HTTP (first and second execution
 * of a document: the second would run compiled) and over graphql-ws.
 */
import { getIntrospectionQuery, print } from 'graphql';
import { beforeAll, describe, expect, test, vi } from 'vitest';
import { rows } from '../kit/db.js';
import { type Gateway, type GqlResult, useGateway } from '../kit/gateway.js';
import { ViewerOrganizationsDocument } from '../generated/graphql.js';
import { ok, STAGE } from '../kit/world.js';

let admin: Awaited<ReturnType<Gateway['bootstrap']>>;
const gw = useGateway();
beforeAll(async () => {
  admin = await gw.bootstrap();
});

/** `n` nested fields starting on Membership: organization { viewerMembership { organization { … id } } }. */
const chainOf = (n: number): string => {
  let q = 'id';
  for (let k = n - 1; k >= 0; k--) q = `${k % 2 === 0 ? 'organization' : 'viewerMembership'} { ${q} }`;
  return q;
};
/** A query `depth` fields deep: viewer, currentMembership, the chain, and a scalar. */
const deep = (depth: number): string => `{ viewer { currentMembership { ${chainOf(depth - 3)} } } }`;

const aliases = (n: number): string => `{ viewer { ${Array.from({ length: n }, (_, i) => `a${i}: user { id }`).join(' ')} } }`;

const NESTED_MEMBERS = `query($o: ID!, $n: Int) { organization(id: $o) { members(first: $n) { edges { node { organization { members(first: $n) { edges { node { user { id email } } } } } } } } } }`;

const post = async (query: string, variables?: Record<string, unknown>, token: string | null = admin.token) => {
  const res = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as GqlResult<any> };
};

const overWs = (query: string, variables?: Record<string, unknown>): Promise<{ data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }> =>
  new Promise((resolve) => {
    const client = gw.ws(admin.token);
    let result: { data?: unknown; errors?: any[] } = {};
    client.subscribe(
      { query, variables },
      {
        next: (v) => (result = v as never),
        error: (e) => resolve({ errors: Array.isArray(e) ? e : [{ message: String(e) }] }),
        complete: () => resolve(result),
      },
    );
  });

const expectTooComplex = (errors: { message: string; extensions?: Record<string, unknown> }[] | undefined, message: RegExp) => {
  expect(errors, JSON.stringify(errors)).toHaveLength(1);
  expect(errors![0]!.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  expect(errors![0]!.message).toMatch(message);
  expect(errors![0]!.extensions).not.toHaveProperty('http');
};

/** `n` SCIM tokens of the organization, stored directly (making them one by one is not what the tests measure). */
const plantScimTokens = (orgId: string, n: number) =>
  rows(
    gw,
    `insert into scim_tokens (id, organization_id, name, token_hash, created_by_user_id, created_at, revoked_at)
     select 'scimtok_' || ? || '_' || g, ?, 'planted ' || g, md5(g::text) || md5(?), null, now(), null from generate_series(1, ?::int) g`,
    [orgId, orgId, orgId, n],
  );

/** `n` teams of the organization with 100 policies each, made through the team service; their ids. */
const teamsWithPolicies = async (org: { orgId: string; token: string }, n: number): Promise<string[]> => {
  const principal = await gw.container.identity.authenticate(org.token);
  const policies = Array.from({ length: 100 }, (_, i) => `perm.${i}`);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await gw.container.teams.createTeam(principal, org.orgId, { name: `big ${i}`, policies })).teamId);
  return ids;
};

describe('depth 12', () => {
  test('the document counts the depth it claims (a test of the test)', async () => {
    const r = await post(deep(12));
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.viewer).toBeDefined();
  });

  test('depth 13 is refused over HTTP, twice (cached document), and over graphql-ws', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await post(deep(13));
      expect(r.status).toBe(400);
      expect(r.body.data).toBeUndefined();
      expectTooComplex(r.body.errors, /depth limit of 12 exceeded, found 13/);
    }
    expectTooComplex((await overWs(deep(13))).errors, /depth limit of 12 exceeded, found 13/);
    expect((await overWs(deep(12))).errors).toBeUndefined();
  });

  test('fragments do not hide depth', async () => {
    const q = `query { viewer { ...V } } fragment V on Viewer { currentMembership { ...M } } fragment M on Membership { ${chainOf(10)} }`;
    expectTooComplex((await post(q)).body.errors, /depth limit of 12 exceeded, found 13/);
  });

  test('a document nested thousands of levels is refused before parsing recurses (no stack overflow)', async () => {
    const q = `{ ${'viewer { '.repeat(5_000)}id${' }'.repeat(5_000)} }`;
    const r = await post(q);
    expect(r.status).toBe(400);
    expectTooComplex(r.body.errors, /more than 2000 tokens, the limit/);
    expectTooComplex((await overWs(q)).errors, /more than 2000 tokens, the limit/);
  });

  test('the standard introspection query is answered (tooling), over HTTP and graphql-ws', async () => {
    const r = await post(getIntrospectionQuery());
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.__schema.types.length).toBeGreaterThan(10);
    expect((await overWs(getIntrospectionQuery())).errors).toBeUndefined();
  });

  test('nested introspection is refused (the rule graphql-js has, as QUERY_TOO_COMPLEX)', async () => {
    let q = 'name';
    for (let i = 0; i < 4; i++) q = `fields { type { ofType { ${q} } } }`;
    const r = await post(`{ __schema { types { ${q} } } }`);
    expectTooComplex(r.body.errors, /Introspection nested more than 3 levels/);
    expectTooComplex((await overWs(`{ __schema { types { ${q} } } }`)).errors, /Introspection nested more than 3 levels/);
  });
});

describe('50 aliases', () => {
  test('50 pass, 51 are refused over HTTP (twice) and graphql-ws', async () => {
    expect((await post(aliases(50))).body.errors).toBeUndefined();
    for (let i = 0; i < 2; i++) expectTooComplex((await post(aliases(51))).body.errors, /Aliases limit of 50 exceeded, found 51/);
    expectTooComplex((await overWs(aliases(51))).errors, /Aliases limit of 50 exceeded, found 51/);
  });

  test('a refused mutation changes nothing (no resolver ran)', async () => {
    const stages = Array.from({ length: 51 }, (_, i) => `s${i}: stageUser(organizationId: $o, email: "alias${i}@example.com") { id }`).join(' ');
    const r = await post(`mutation($o: ID!) { ${stages} }`, { o: admin.orgId });
    expectTooComplex(r.body.errors, /Aliases limit of 50 exceeded, found 51/);
    const found = await rows<{ n: number }>(gw, `select count(*)::int as n from users where email like 'alias%@example.com'`);
    expect(found[0]!.n).toBe(0);
  });
});

describe('10,000 estimated result nodes', () => {
  test('members(first: 100) inside members(first: 100) is refused; the same document with small pages runs, also compiled', async () => {
    // Small pages: executed three times (from the second on it runs compiled), answered.
    const compiledBefore = (await gw.container.metrics.compiledOperations.get()).values[0]?.value ?? 0;
    for (let i = 0; i < 3; i++) {
      const r = await post(NESTED_MEMBERS, { o: admin.orgId, n: 5 });
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.organization.members.edges).toHaveLength(1);
    }
    expect((await gw.container.metrics.compiledOperations.get()).values[0]?.value).toBeGreaterThan(compiledBefore);
    // The same (cached, compiled) document with large pages is refused before execution.
    const r = await post(NESTED_MEMBERS, { o: admin.orgId, n: 100 });
    expect(r.status).toBe(400);
    expect(r.body.data).toBeUndefined();
    expectTooComplex(r.body.errors, /limit of 10000 nodes exceeded, found \d{5,}/);
    expectTooComplex((await overWs(NESTED_MEMBERS, { o: admin.orgId, n: 100 })).errors, /limit of 10000 nodes exceeded/);
    expect((await overWs(NESTED_MEMBERS, { o: admin.orgId, n: 5 })).errors).toBeUndefined();
  });

  test('first: null pages by the field default (50), as the resolver does: counted so, refused like first: 50', async () => {
    // organization 1 + members 1 + 50 × (edges + node + organization + (1 + 50 × (edges + node + user + id + email))) = 12,702
    for (const n of [50, null]) {
      const r = await post(NESTED_MEMBERS, { o: admin.orgId, n });
      expect(r.status).toBe(400);
      expectTooComplex(r.body.errors, /found 12702/);
    }
    const inline = await post(NESTED_MEMBERS.replaceAll('first: $n', 'first: null').replace(', $n: Int', ''), { o: admin.orgId });
    expectTooComplex(inline.body.errors, /found 12702/);
    expectTooComplex((await overWs(NESTED_MEMBERS, { o: admin.orgId, n: null })).errors, /found 12702/);
  });

  test('a verdict is not reused for other values: variables the operation does not declare are not part of it', async () => {
    const query = `query Forged($o: ID!, $n: Int = 1) { organization(id: $o) { members(first: $n) { edges { node { organization { members(first: $n) { edges { node { user { id } } } } } } } } } }`;
    // A primer whose undeclared variable name spells another key: allowed (n is 1) …
    const primer = await post(query, { o: admin.orgId, 'n=100\nz': 1 });
    expect(primer.body.errors).toBeUndefined();
    // … and the large page is still refused afterwards, whatever undeclared variables come with it.
    for (const extra of [{ z: 1 }, { 'n=100\nz': 1 }, {}]) {
      const r = await post(query, { o: admin.orgId, n: 100, ...extra });
      expect(r.status).toBe(400);
      expectTooComplex(r.body.errors, /limit of 10000 nodes exceeded/);
    }
  });

  test('a variable of the wrong type is not a verdict for the variable left out (its default then applies)', async () => {
    const query = `query Defaulted($o: ID!, $n: Int = 100) { organization(id: $o) { members(first: $n) { edges { node { organization { members(first: $n) { edges { node { user { id } } } } } } } } } }`;
    const wrong = await post(query, { o: admin.orgId, n: 'x' });
    expect(wrong.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    for (const variables of [{ o: admin.orgId }, { o: admin.orgId, n: 'x' }, { o: admin.orgId }]) {
      const r = await post(query, variables);
      if (variables.n === undefined) expectTooComplex(r.body.errors, /limit of 10000 nodes exceeded/);
      else expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  test('lists without first are held at 200,000 items whatever the estimate assumed (teams × policies), also compiled', async () => {
    const org = await gw.bootstrap();
    await teamsWithPolicies(org, 40);
    const aliased = (n: number) => `query($o: ID!) { organization(id: $o) { ${Array.from({ length: n }, (_, i) => `a${i}: teams { policies }`).join(' ')} } }`;
    // 40 aliases × 40 teams × (1 + 1 field + 100 policies) = 163,200 items: answered.
    const within = await post(aliased(40), { o: org.orgId }, org.token);
    expect(within.body.errors).toBeUndefined();
    expect(within.body.data.organization.a39).toHaveLength(40);
    // 50 aliases: 204,000 — inside the estimate (10 teams assumed), refused while executing, on the first and the compiled run.
    const compiledBefore = (await gw.container.metrics.compiledOperations.get()).values[0]?.value ?? 0;
    for (let i = 0; i < 2; i++) {
      const r = await post(aliased(50), { o: org.orgId }, org.token);
      expect(r.body.data).toEqual({ organization: null });
      expect(r.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(r.body.errors?.[0]?.message).toMatch(/more than 200000 items of lists without first/);
    }
    expect((await gw.container.metrics.compiledOperations.get()).values[0]?.value).toBeGreaterThan(compiledBefore);
    // A team takes at most 100 distinct policies.
    const refused = await post(`mutation($o: ID!, $p: [String!]!) { createTeam(organizationId: $o, input: { name: "too many", policies: $p }) { id } }`, { o: org.orgId, p: Array.from({ length: 101 }, (_, i) => `perm.${i}`) }, org.token);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.body.errors?.[0]?.message).toMatch(/at most 100 policies per team \(got 101\)/);
    expect(await rows(gw, `select 1 from teams where organization_id = ? and name = 'too many'`, [org.orgId])).toEqual([]);
  });

  test('the budget is per subscription event: 30 aliases pass event after event, 50 are refused in each event', async () => {
    const org = await gw.bootstrap();
    const principal = await gw.container.identity.authenticate(org.token);
    const teamIds = await teamsWithPolicies(org, 40);
    const aliased = (n: number) =>
      `subscription { membershipChanged { id membership { ${Array.from({ length: n }, (_, i) => `a${i}: organization { teams { policies } }`).join(' ')} } } }`;
    type Payload = { data?: { membershipChanged: { membership: Record<string, unknown> | null } }; errors?: { extensions?: { code?: string } }[] };
    const listen = (query: string) => {
      const payloads: Payload[] = [];
      const client = gw.ws(org.token);
      const stop = client.subscribe({ query }, { next: (v) => void payloads.push(v as Payload), error: () => undefined, complete: () => undefined });
      return { payloads, stop };
    };
    const active = async () => (await gw.container.metrics.activeSubscriptions.get()).values[0]?.value ?? 0;
    const before = await active();
    const small = listen(aliased(30)); // 30 × 40 teams × (1 + 1 + 100) = 122,400 items per event
    const large = listen(aliased(50)); // 204,000
    // Both streams have taken their snapshot: the changes below are live for them.
    await vi.waitFor(async () => expect(await active()).toBeGreaterThanOrEqual(before + 2), { timeout: 20_000 });
    for (const teamId of teamIds.slice(0, 2)) await gw.container.teams.addTeamMembers(principal, org.orgId, teamId, [org.userId]);
    await vi.waitFor(() => expect(small.payloads.length + large.payloads.length).toBeGreaterThanOrEqual(4), { timeout: 20_000 });
    small.stop();
    large.stop();
    for (const p of small.payloads) {
      expect(p.errors).toBeUndefined();
      expect(p.data?.membershipChanged.membership?.a29).toMatchObject({ teams: expect.any(Array) });
    }
    for (const p of large.payloads) {
      expect(p.data?.membershipChanged.membership).toBeNull();
      expect(p.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    }
    expect([small.payloads.length, large.payloads.length]).toEqual([2, 2]);
  });

  test('fragments do not hide the fields an item is counted by', async () => {
    const org = await gw.bootstrap();
    await plantScimTokens(org.orgId, 2100);
    // 45 × 2,100 × (1 + 4 fields) = 472,500 items, whether the fields are written out or in a fragment.
    const fields = 'id name createdAt revokedAt';
    const aliases = Array.from({ length: 45 }, (_, i) => `a${i}: scimTokens { ...T }`).join(' ');
    for (const query of [
      `query($o: ID!) { organization(id: $o) { ${aliases} } } fragment T on ScimToken { ${fields} }`,
      `query($o: ID!) { organization(id: $o) { ${aliases.replaceAll('...T', `... on ScimToken { ${fields} }`)} } }`,
    ]) {
      const r = await post(query, { o: org.orgId }, org.token);
      expect(r.body.errors?.[0]?.extensions?.code, JSON.stringify(r.body.errors?.[0])).toBe('QUERY_TOO_COMPLEX');
    }
  });

  test("a team's policies count only when selected: two lists of 1,100 team ids are answered", async () => {
    const org = await gw.bootstrap();
    await rows(
      gw,
      `insert into teams (key, organization_id, team_id, name, policies, created_at, updated_at)
       select ? || '/t' || g, ?, 't' || g, 'team ' || g, (select jsonb_agg('perm.' || p) from generate_series(1, 100) p), now(), now() from generate_series(1, 1100) g`,
      [org.orgId, org.orgId],
    );
    const ids = await post(`query($o: ID!) { organization(id: $o) { a: teams { id } b: teams { id name } } }`, { o: org.orgId }, org.token);
    expect(ids.body.errors).toBeUndefined();
    expect(ids.body.data.organization.b).toHaveLength(1100);
    // With their policies: 2 × 1,100 × (1 + 1 + 100) = 224,400 items, refused.
    const withPolicies = await post(`query($o: ID!) { organization(id: $o) { a: teams { policies } b: teams { policies } } }`, { o: org.orgId }, org.token);
    expect(withPolicies.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  test('admin lists count too: 50 aliases of 2,100 SCIM tokens are refused, 20 are answered', async () => {
    const org = await gw.bootstrap();
    await plantScimTokens(org.orgId, 2100);
    const aliased = (n: number) => `query($o: ID!) { organization(id: $o) { ${Array.from({ length: n }, (_, i) => `a${i}: scimTokens { id name }`).join(' ')} } }`;
    // 20 × 2,100 × (1 + 2 fields) = 126,000 items: answered; 50 × … = 315,000: refused.
    const within = await post(aliased(20), { o: org.orgId }, org.token);
    expect(within.body.errors).toBeUndefined();
    expect(within.body.data.organization.a19).toHaveLength(2100);
    const r = await post(aliased(50), { o: org.orgId }, org.token);
    expect(r.body.data).toEqual({ organization: null });
    expect(r.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  test('long strings weigh more: automatic-access domains reached through 100 members are refused, read once they are answered', async () => {
    const org = await gw.bootstrap();
    const principal = await gw.container.identity.authenticate(org.token);
    const label = 'd'.repeat(60);
    const domains = Array.from({ length: 100 }, (_, i) => `${label}.${label}.${label}.x${i}.example`);
    await gw.container.organizations.setAutomaticUserAccess(principal, org.orgId, { enabled: false, defaultRole: 'MEMBER', allowedDomains: domains });
    for (let i = 0; i < 99; i++) await gw.container.memberships.stageUser(principal, org.orgId, `domains${i}@long.example`, 'MEMBER');
    const once = await post(`query($o: ID!) { organization(id: $o) { automaticUserAccess { allowedDomains } } }`, { o: org.orgId }, org.token);
    expect(once.body.data.organization.automaticUserAccess.allowedDomains).toHaveLength(100);
    // 100 members × 9 aliases × 100 domains × (1 + 3 per 64 characters) = 360,000 items.
    const aliases = Array.from({ length: 9 }, (_, i) => `d${i}: allowedDomains`).join(' ');
    const r = await post(`query($o: ID!) { organization(id: $o) { members(first: 100) { edges { node { organization { automaticUserAccess { ${aliases} } } } } } } }`, { o: org.orgId }, org.token);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  test('the estimate multiplies first by nested lists (named in the message)', async () => {
    // 1 + 100 × (1 + edges 1 + node 1 + teams 10 × (1 + 2 aliases … )) — just over the limit with enough fields under a list.
    const fields = Array.from({ length: 9 }, (_, i) => `t${i}: teams { id name }`).join(' ');
    const r = await post(`query($o: ID!) { organization(id: $o) { members(first: 100) { edges { node { ${fields} } } } } }`, { o: admin.orgId });
    // 100 × (edges 1 + node 1 + 9 × 10 × 3) = 27,2xx
    expectTooComplex(r.body.errors, /found 27\d{3}/);
  });

  test('the Viewer query at first: 100 stays well inside, over HTTP (also compiled) and graphql-ws', async () => {
    for (let i = 0; i < 2; i++) ok(await gw.gql(ViewerOrganizationsDocument, { first: 100 }, admin.token));
    expect((await overWs(print(ViewerOrganizationsDocument), { first: 100 })).errors).toBeUndefined();
  });

  test('first above 100 is still the domain refusal (BAD_USER_INPUT), not a cost refusal', async () => {
    const r = await gw.gql(ViewerOrganizationsDocument, { first: 101 }, admin.token);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('an unrelated mutation still works (stageUser)', async () => {
    ok(await gw.gql(STAGE, { o: admin.orgId, e: 'cost.ok@example.com', r: 'MEMBER' }, admin.token));
  });
});
