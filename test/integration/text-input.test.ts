/**
 * SPEC §8 Text: NUL or an unpaired surrogate in any string argument is BAD_USER_INPUT
 * (SCIM: 400 invalidValue), never a 500, and changes nothing. The GraphQL table is built
 * from the schema itself: every String/ID argument of every root field, nested input
 * fields included, through variables and (top-level arguments) as document literals.
 * Emails in one canonical form: IDN / case / trailing-dot spellings are one identity.
 */
import {
  getNamedType,
  getNullableType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLSchema,
  isCompositeType,
} from 'graphql';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildGraphQLSchema } from '../../src/transports/graphql/schema.js';
import { rows, SCIM_TABLES, snapshot } from '../kit/db.js';
import { type Gateway, useGateway } from '../kit/gateway.js';
import { expectScimError, newUser, patchOp, scimClient, USER, GROUP } from '../kit/scim.js';
import { ok, STAGE } from '../kit/world.js';

let admin: Awaited<ReturnType<Gateway['bootstrap']>>;
let schema: GraphQLSchema;
const gw = useGateway();
beforeAll(async () => {
  admin = await gw.bootstrap();
  schema = await buildGraphQLSchema();
});

const BAD = { NUL: 'a\u0000b', 'lone high surrogate': 'a\ud800b', 'lone low surrogate': '\udc00' } as const;

/** A value graphql-js accepts for this input type (required input fields only). */
const sample = (type: GraphQLInputType): unknown => {
  const t = getNullableType(type);
  if (isListType(t)) return [sample(t.ofType)];
  if (isEnumType(t)) return t.getValues()[0]!.value;
  if (isInputObjectType(t)) {
    const o: Record<string, unknown> = {};
    for (const f of Object.values(t.getFields())) if (isNonNullType(f.type)) o[f.name] = sample(f.type);
    return o;
  }
  if (isScalarType(t)) {
    if (t.name === 'Int' || t.name === 'Float') return 1;
    if (t.name === 'Boolean') return true;
    if (t.name === 'DateTimeISO' || t.name === 'DateTime') return '2026-01-01T00:00:00Z';
    return 'x';
  }
  throw new Error(`no sample for ${String(t)}`);
};

const isText = (type: GraphQLInputType) => {
  const named = getNamedType(type);
  return isScalarType(named) && (named.name === 'String' || named.name === 'ID');
};

interface Case {
  operation: 'query' | 'mutation' | 'subscription';
  field: GraphQLField<unknown, unknown>;
  /** Path to the string inside the variables, e.g. ['input', 'allowedDomains', 0]. */
  path: (string | number)[];
}

/** Every place a string can go: top-level arguments and input-object fields, lists entered once. */
const textPaths = (type: GraphQLInputType, prefix: (string | number)[], seen = new Set<string>()): (string | number)[][] => {
  const t = getNullableType(type);
  if (isListType(t)) return textPaths(t.ofType, [...prefix, 0], seen);
  if (isText(t as GraphQLInputType)) return [prefix];
  if (isInputObjectType(t)) {
    if (seen.has(t.name)) return [];
    const inner = new Set(seen).add(t.name);
    return Object.values(t.getFields()).flatMap((f) => textPaths(f.type, [...prefix, f.name], inner));
  }
  return [];
};

const cases = (s: GraphQLSchema): Case[] => {
  const out: Case[] = [];
  for (const [operation, root] of [['query', s.getQueryType()], ['mutation', s.getMutationType()], ['subscription', s.getSubscriptionType()]] as const)
    for (const field of Object.values(root?.getFields() ?? {}))
      for (const arg of field.args) for (const path of textPaths(arg.type, [arg.name])) out.push({ operation, field, path });
  return out;
};

const documentFor = ({ operation, field }: Case, literal?: { arg: string; value: string }): string => {
  const args = field.args.filter((a) => !literal || a.name !== literal.arg);
  const defs = args.map((a: GraphQLArgument) => `$${a.name}: ${String(a.type)}`).join(', ');
  const uses = field.args.map((a) => (literal && a.name === literal.arg ? `${a.name}: ${JSON.stringify(literal.value)}` : `${a.name}: $${a.name}`)).join(', ');
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `${operation}${defs ? `(${defs})` : ''} { ${field.name}${uses ? `(${uses})` : ''}${selection} }`;
};

const variablesFor = ({ field, path }: Case, bad: string): Record<string, unknown> => {
  const vars: Record<string, unknown> = {};
  for (const a of field.args) vars[a.name] = sample(a.type);
  // Walk the path, creating optional input fields on the way.
  let target: any = vars;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (target[key] === undefined || target[key] === null) target[key] = typeof path[i + 1] === 'number' ? [] : {};
    target = target[key];
  }
  target[path[path.length - 1]!] = bad;
  return vars;
};

const send = async (query: string, variables: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string; field?: string } }[] } };
};

const overWs = (query: string, variables: Record<string, unknown>) =>
  new Promise<{ message: string; extensions?: { code?: string } }[]>((resolve) => {
    gw.ws(admin.token).subscribe({ query, variables }, { next: () => undefined, error: (e) => resolve(e as never), complete: () => resolve([]) });
  });

describe('GraphQL: every string argument of the schema', () => {
  test('the table covers the arguments the attacks used (a test of the table)', () => {
    const all = cases(schema).map((c) => `${c.field.name}.${c.path.join('.')}`);
    expect(all.length).toBeGreaterThan(30);
    for (const expected of ['stageUser.email', 'organization.id', 'switchOrganization.organizationId', 'setAutomaticUserAccess.input.allowedDomains.0', 'membershipChanged.after'])
      expect(all).toContain(expected);
  });

  test('NUL and unpaired surrogates in variables: BAD_USER_INPUT naming the variable, HTTP 400, nothing changed', async () => {
    const before = await snapshot(gw, SCIM_TABLES);
    const failures: string[] = [];
    for (const c of cases(schema).filter((c) => c.operation !== 'subscription'))
      for (const [label, bad] of Object.entries(BAD)) {
        const r = await send(documentFor(c), variablesFor(c, bad));
        const e = r.body.errors?.[0];
        const where = c.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1);
        if (r.status !== 400 || e?.extensions?.code !== 'BAD_USER_INPUT' || e.extensions.field !== where || !/NUL character or an unpaired UTF-16 surrogate/.test(e.message))
          failures.push(`${c.field.name} ${where} (${label}): ${r.status} ${JSON.stringify(r.body.errors)}`);
      }
    expect(failures).toEqual([]);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });

  test('as document literals of top-level arguments: BAD_USER_INPUT', async () => {
    const failures: string[] = [];
    for (const c of cases(schema).filter((c) => c.operation !== 'subscription' && c.path.length === 1)) {
      const arg = String(c.path[0]);
      const vars = variablesFor(c, 'x');
      delete vars[arg];
      const r = await send(documentFor(c, { arg, value: BAD.NUL }), vars);
      if (r.body.errors?.[0]?.extensions?.code !== 'BAD_USER_INPUT') failures.push(`${c.field.name}.${arg}: ${JSON.stringify(r.body.errors)}`);
    }
    expect(failures).toEqual([]);
  });

  test('subscriptions over graphql-ws: an error message with BAD_USER_INPUT', async () => {
    for (const c of cases(schema).filter((c) => c.operation === 'subscription')) {
      const errors = await overWs(documentFor(c), variablesFor(c, BAD.NUL));
      expect(errors[0]?.extensions?.code, JSON.stringify(errors)).toBe('BAD_USER_INPUT');
    }
  });

  test('well-formed text with astral characters and escapes is accepted', async () => {
    const r = ok(await gw.gql<any>(`mutation($n: String!) { createOrganization(input: { name: $n }) { name } }`, { n: 'Zoë 🚀 \\ "q"' }, admin.token));
    expect(r.createOrganization.name).toBe('Zoë 🚀 \\ "q"');
  });
});

describe('SCIM: the whole request, once', () => {
  test.each([
    ['POST /Users userName', 'POST', '/Users', newUser('nul1@example.com', { userName: 'a\u0000b' })],
    ['POST /Users displayName', 'POST', '/Users', newUser('nul2@example.com', { displayName: 'Bob\u0000' })],
    ['POST /Users emails[0].value', 'POST', '/Users', { schemas: [USER], userName: 'nul3', emails: [{ value: 'x\ud800@example.com', primary: true }] }],
    ['POST /Users name.givenName', 'POST', '/Users', newUser('nul4@example.com', { name: { givenName: '\udc00' } })],
    ['POST /Users a key', 'POST', '/Users', { ...newUser('nul5@example.com'), 'bad\u0000key': 1 }],
    ['POST /Groups displayName', 'POST', '/Groups', { schemas: [GROUP], displayName: 'Team\u0000' }],
    ['GET /Users filter', 'GET', '/Users?filter=' + encodeURIComponent('userName eq "a\u0000"'), undefined],
    ['GET /Users/:id', 'GET', '/Users/%00', undefined],
  ])('%s → 400 invalidValue, nothing changed', async (_label, method, path, body) => {
    const scim = await scimClient(gw, admin);
    const before = await snapshot(gw, SCIM_TABLES);
    const r = await scim.request(method, path, body);
    expectScimError(r, 400, 'invalidValue');
    expect(r.body.detail).toMatch(/NUL character or an unpaired UTF-16 surrogate/);
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });

  test('PATCH /Users/:id value and PUT → 400 invalidValue, nothing changed', async () => {
    const scim = await scimClient(gw, admin);
    const created = await scim.post('/Users', newUser('patch.nul@example.com'));
    expect(created.status).toBe(201);
    const before = await snapshot(gw, SCIM_TABLES);
    expectScimError(await scim.patch(`/Users/${created.body.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'x\u0000' })), 400, 'invalidValue');
    expectScimError(await scim.put(`/Users/${created.body.id}`, newUser('patch.nul@example.com', { displayName: '\ud83d' })), 400, 'invalidValue');
    expect(await snapshot(gw, SCIM_TABLES)).toEqual(before);
  });
});

describe('emails in one canonical form', () => {
  test('IDN, upper case and a trailing dot name one identity (GraphQL and SCIM)', async () => {
    const a = ok(await gw.gql<any>(STAGE, { o: admin.orgId, e: 'Bob@Bücher.example.', r: 'MEMBER' }, admin.token));
    const other = await gw.bootstrap();
    const b = ok(await gw.gql<any>(STAGE, { o: other.orgId, e: 'bob@xn--bcher-kva.example', r: 'MEMBER' }, other.token));
    expect(b.stageUser.user.id).toBe(a.stageUser.user.id);
    const third = await gw.bootstrap();
    const scim = await scimClient(gw, third);
    const c = await scim.post('/Users', newUser('bob@bücher.example'));
    expect(c.status).toBe(201);
    expect(c.body.id).toBe(a.stageUser.user.id);
    // userName is SCIM's own key (compared ignoring case); emails.value compares canonical emails.
    expect((await scim.get(`/Users?filter=${encodeURIComponent('userName eq "BOB@Bücher.example"')}`)).body.totalResults).toBe(1);
    expect((await scim.get(`/Users?filter=${encodeURIComponent('emails.value eq "BOB@xn--bcher-kva.example."')}`)).body.totalResults).toBe(1);
    const found = await rows<{ email: string }>(gw, `select email from users where id = ?`, [a.stageUser.user.id]);
    expect(found[0]!.email).toBe('bob@xn--bcher-kva.example');
  });

  test('a decomposed and a precomposed local part name one identity (NFC), GraphQL and SCIM', async () => {
    const a = ok(await gw.gql<any>(STAGE, { o: admin.orgId, e: 'j\u00fcrgen@example.com', r: 'MEMBER' }, admin.token));
    const other = await gw.bootstrap();
    const b = ok(await gw.gql<any>(STAGE, { o: other.orgId, e: 'JU\u0308RGEN@example.com', r: 'MEMBER' }, other.token));
    expect(b.stageUser.user.id).toBe(a.stageUser.user.id);
    const scim = await scimClient(gw, await gw.bootstrap());
    const c = await scim.post('/Users', newUser('ju\u0308rgen@example.com'));
    expect(c.status).toBe(201);
    expect(c.body.id).toBe(a.stageUser.user.id);
  });

  test('an IP-literal domain is refused with BAD_USER_INPUT (GraphQL) and 400 invalidValue (SCIM), nothing changed', async () => {
    const before = await snapshot(gw, SCIM_TABLES);
    const r = await gw.gql(STAGE, { o: admin.orgId, e: 'x@[127.0.0.1]', r: 'MEMBER' }, admin.token);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/IP address/);
    const scim = await scimClient(gw, admin);
    const s = await scim.post('/Users', newUser('x@127.0.0.1'));
    expectScimError(s, 400, 'invalidValue');
    expect(await snapshot(gw, SCIM_TABLES)).toEqual({ ...before, scim_tokens: (await snapshot(gw, SCIM_TABLES)).scim_tokens });
  });
});
