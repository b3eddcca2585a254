/**
 * The `orgway` command, run as the compiled `bin/orgway.js` with the pinned Node 24,
 * against fresh PostgreSQL databases.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { BIN, ensureBuilt, killAll, run } from '../kit/compiled.js';
import { rows, type TestDatabase, useDatabase } from '../kit/db.js';
import { lastEventId } from '../kit/events.js';
import { useGateway } from '../kit/gateway.js';

// Every test spawns processes; a busy 2-core machine needs more than the default 30 s.
vi.setConfig({ testTimeout: 90_000 });

const orgway = (args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000) => run([BIN, ...args], env, timeoutMs);

const t = useDatabase();
let env: Record<string, string>;

beforeAll(async () => {
  await ensureBuilt();
  // LOG_LEVEL=debug: the CLI must still keep stdout for its result only.
  env = { DATABASE_URL: t.url, LOG_LEVEL: 'debug', ORGWAY_PUBLIC_URL: 'http://127.0.0.1:4000' };
}, 180_000);
afterAll(() => killAll());

const counts = async (db: TestDatabase = t) => {
  const n = async (table: string) => (await rows<{ n: number }>(db, `select count(*)::int as n from ${table}`))[0]!.n;
  return { organizations: await n('organizations'), users: await n('users'), memberships: await n('memberships'), events: await n('membership_events'), sessions: await n('sessions') };
};

describe('usage', () => {
  test('no command or --help prints the usage and exits 0', async () => {
    for (const args of [[], ['--help'], ['help'], ['bootstrap', '--help']]) {
      const r = await orgway(args, env);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage:\n {2}orgway bootstrap --org-name <name> --admin-email <email>/);
    }
  });

  test('an unknown command or flag is a usage error (exit 2)', async () => {
    const unknown = await orgway(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^orgway: unknown command "frobnicate"\.\n\nUsage:/);
    const flag = await orgway(['migrate', '--force'], env);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--force/);
    const serve = await orgway(['serve', '--port', '1'], env);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/--port/);
  });
});

describe('bootstrap', () => {
  const gw = useGateway({ t });

  test('--json prints only JSON: the organization, its ORG_ADMIN and an API token that works against GraphQL', async () => {
    const before = await counts();
    const r = await orgway(['bootstrap', '--org-name', 'Acme Corp', '--admin-email', 'Admin@Acme.example', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      organization: { id: string; name: string };
      admin: { userId: string; email: string; role: string };
      apiToken: { id: string; token: string };
    };
    expect(out.organization).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), name: 'Acme Corp' });
    expect(out.admin).toEqual({ userId: expect.any(String), email: 'admin@acme.example', role: 'ORG_ADMIN' });
    expect(out.apiToken.token).toMatch(/^ogwa_/);
    expect(r.stderr).toBe('');

    const v = await gw.gql<any>(
      '{ viewer { user { id email } currentOrganization { id name } currentMembership { role status source } } }',
      {},
      out.apiToken.token,
    );
    expect(v.errors).toBeUndefined();
    expect(v.data.viewer).toEqual({
      user: { id: out.admin.userId, email: 'admin@acme.example' },
      currentOrganization: { id: out.organization.id, name: 'Acme Corp' },
      currentMembership: { role: 'ORG_ADMIN', status: 'ACTIVE', source: 'MANUAL' },
    });
    // The membership change went through the event log, with the CLI as actor.
    const events = await rows<{ type: string; actor: string }>(t, 'select type, actor from membership_events where organization_id = ?', [out.organization.id]);
    expect(events).toEqual([{ type: 'JOINED', actor: 'cli' }]);
    expect(await counts()).toEqual({
      organizations: before.organizations + 1,
      users: before.users + 1,
      memberships: before.memberships + 1,
      events: before.events + 1,
      sessions: before.sessions + 1,
    });
  });

  test('without --json it prints a readable summary with the token; --org-id chooses the id', async () => {
    const r = await orgway(['bootstrap', '--org-name', 'Beta', '--admin-email', 'beta@example.com', '--org-id', 'beta-inc'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Created organization Beta \(beta-inc\)\nORG_ADMIN: beta@example.com \(usr_\w+\)\nAPI token \(shown once; use as "Authorization: Bearer <token>"\):\n {2}ogwa_\S+\n$/);
    const token = /\n {2}(ogwa_\S+)\n$/.exec(r.stdout)![1]!;
    expect((await gw.gql<any>('{ viewer { currentOrganization { id } } }', {}, token)).data.viewer.currentOrganization.id).toBe('beta-inc');
  });

  test('missing flags print the usage and exit 2; nothing is created', async () => {
    const before = await counts();
    for (const [args, missing] of [
      [['bootstrap'], 'bootstrap needs --org-name and --admin-email.'],
      [['bootstrap', '--org-name', 'X'], 'bootstrap needs --admin-email.'],
      [['bootstrap', '--admin-email', 'x@example.com', '--json'], 'bootstrap needs --org-name.'],
      [['bootstrap', '--org-name'], "Option '--org-name <value>' argument missing"],
    ] as const) {
      const r = await orgway([...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(missing);
      expect(r.stderr).toContain('Usage:');
      expect(r.stdout).toBe('');
    }
    expect(await counts()).toEqual(before);
  });

  test('a bad email, name or id exits non-zero with a message naming the flag; nothing is created', async () => {
    const before = await counts();
    const email = await orgway(['bootstrap', '--org-name', 'X', '--admin-email', 'not-an-email', '--json'], env);
    expect(email.code).toBe(2);
    expect(email.stderr).toBe('orgway: --admin-email: "not-an-email" is not a valid email address (expected name@example.com).\n');
    expect(email.stdout).toBe('');
    const name = await orgway(['bootstrap', '--org-name', '   ', '--admin-email', 'x@example.com'], env);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/^orgway: --org-name: must not be empty/);
    const id = await orgway(['bootstrap', '--org-name', 'X', '--admin-email', 'x@example.com', '--org-id', 'has space'], env);
    expect(id.code).toBe(2);
    expect(id.stderr).toMatch(/^orgway: --org-id: "has space" is not a valid organization id/);
    expect(await counts()).toEqual(before);
  });

  test('an organization id that is taken exits 1 with CONFLICT and changes nothing', async () => {
    const before = await counts();
    const r = await orgway(['bootstrap', '--org-name', 'Again', '--admin-email', 'again@example.com', '--org-id', 'beta-inc', '--json'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^orgway: CONFLICT: Organization id "beta-inc" is taken/);
    expect(r.stdout).toBe('');
    expect(await counts()).toEqual(before);
  });

  test('a bad configuration variable exits 78 naming it', async () => {
    const r = await orgway(['bootstrap', '--org-name', 'X', '--admin-email', 'x@example.com'], { ...env, PORT: 'abc' });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/PORT: must be a whole number/);
  });

  test('rotate-signing-key makes a new signing key and keeps the old one published', async () => {
    const before = (await gw.container.tokens.jwks()).keys.map((k) => k.kid);
    const r = await orgway(['rotate-signing-key', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { kid: string; published: string[] };
    expect(out.published).toEqual([out.kid, ...before]);
    const res = await fetch(`${gw.url}/.well-known/jwks.json`);
    expect(((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual(out.published);
  });
});

describe('migrate and serve on an unmigrated database', () => {
  const fresh = useDatabase({ migrate: false });
  let freshEnv: Record<string, string>;
  beforeAll(() => {
    freshEnv = { ...env, DATABASE_URL: fresh.url };
  });

  test('serve and bootstrap refuse with a message naming `orgway migrate` (exit 1)', async () => {
    const serve = await orgway(['serve'], { ...freshEnv, PORT: '0' }, 30_000);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toMatch(/^orgway: The database has \d+ pending migration\(s\) \(Migration0001Initial.*\)\. Run `orgway migrate` first\.\n$/);
    expect(serve.stdout).toBe('');
    const boot = await orgway(['bootstrap', '--org-name', 'X', '--admin-email', 'x@example.com'], freshEnv);
    expect(boot.code).toBe(1);
    expect(boot.stderr).toMatch(/Run `orgway migrate` first\./);
  });

  test('migrate applies every migration, and a second run changes nothing', async () => {
    const first = await orgway(['migrate'], freshEnv);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Applied \d+ migration\(s\): Migration0001Initial/);
    const tables = await rows<{ t: string | null }>(fresh, "select to_regclass('public.memberships')::text as t");
    expect(tables[0]!.t).toBe('memberships');
    const applied = await rows<{ name: string }>(fresh, 'select name from mikro_orm_migrations order by id');
    const second = await orgway(['migrate'], freshEnv);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('The database is up to date.\n');
    expect(await rows(fresh, 'select name from mikro_orm_migrations order by id')).toEqual(applied);
    // Now bootstrap works on it.
    const boot = await orgway(['bootstrap', '--org-name', 'Fresh', '--admin-email', 'fresh@example.com', '--json'], freshEnv);
    expect(boot.code, boot.stderr).toBe(0);
    expect(JSON.parse(boot.stdout).organization.name).toBe('Fresh');
  });

  test('an unreachable database exits 1 with a message', async () => {
    const r = await orgway(['migrate'], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' }, 30_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^orgway: .*ECONNREFUSED/);
  });
});

describe('grant-admin', () => {
  const gw = useGateway({ t });

  interface GrantOutput {
    organization: { id: string; name: string };
    admin: { userId: string; email: string; role: string; status: string };
    apiToken: { id: string; token: string; authentications: string[] };
  }
  const grant = async (orgId: string, email: string): Promise<GrantOutput> => {
    const r = await orgway(['grant-admin', '--org-id', orgId, '--admin-email', email, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as GrantOutput;
  };
  const membership = async (orgId: string, userId: string) =>
    (await rows<any>(t, 'select role, status, source from memberships where organization_id = ? and user_id = ?', [orgId, userId]))[0];
  const eventsOf = async (orgId: string, userId: string, after = '0') =>
    (
      await rows<any>(t, 'select type, actor, role, status, previous_role, previous_status from membership_events where organization_id = ? and user_id = ? and id > ? order by id', [orgId, userId, after])
    ).map((e) => [e.type, e.actor, e.previous_role, e.role, e.previous_status, e.status]);
  const stage = (o: string, e: string, r: string, token: string) =>
    gw.gql<any>('mutation($o: ID!, $e: String!, $r: OrganizationRole) { stageUser(organizationId: $o, email: $e, role: $r) { user { id } } }', { o, e, r }, token);

  test('a new email: creates the user and an ACTIVE ORG_ADMIN membership (event by cli), and prints an OPERATOR token that administers the organization', async () => {
    const org = await gw.bootstrap('Recover Me');
    const before = await counts();
    const out = await grant(org.orgId, 'Rescuer@Recover.example');
    expect(out).toEqual({
      organization: { id: org.orgId, name: 'Recover Me' },
      admin: { userId: expect.stringMatching(/^usr_/), email: 'rescuer@recover.example', role: 'ORG_ADMIN', status: 'ACTIVE' },
      apiToken: { id: expect.any(String), token: expect.stringMatching(/^ogwa_/), authentications: ['OPERATOR'] },
    });
    expect(await counts()).toEqual({ ...before, users: before.users + 1, memberships: before.memberships + 1, events: before.events + 1, sessions: before.sessions + 1 });
    expect(await membership(org.orgId, out.admin.userId)).toEqual({ role: 'ORG_ADMIN', status: 'ACTIVE', source: 'MANUAL' });
    expect(await eventsOf(org.orgId, out.admin.userId)).toEqual([['JOINED', 'cli', null, 'ORG_ADMIN', null, 'ACTIVE']]);
    const [session] = await rows<any>(t, 'select kind, user_id, current_organization_id, authentications, expires_at from sessions where id = ?', [out.apiToken.id]);
    expect({ ...session, authentications: typeof session.authentications === 'string' ? JSON.parse(session.authentications) : session.authentications }).toEqual({
      kind: 'API_TOKEN',
      user_id: out.admin.userId,
      current_organization_id: org.orgId,
      authentications: ['OPERATOR'],
      expires_at: null,
    });
    // The token acts in the organization: reads it and performs an admin mutation.
    const read = await gw.gql<any>('query($o: ID!) { organization(id: $o) { id viewerMembership { role status } scimTokens { id } } }', { o: org.orgId }, out.apiToken.token);
    expect(read).toEqual({ data: { organization: { id: org.orgId, viewerMembership: { role: 'ORG_ADMIN', status: 'ACTIVE' }, scimTokens: [] } } });
    const staged = await stage(org.orgId, 'helper@recover.example', 'MEMBER', out.apiToken.token);
    expect(staged.errors).toBeUndefined();
  });

  test('a DISABLED ORG_ADMIN is re-activated, a STAGED MEMBER promoted and activated (events by cli); the same user gets no second identity', async () => {
    const org = await gw.bootstrap('Locked Out');
    const disabledUser = (await stage(org.orgId, 'gone.admin@locked.example', 'ORG_ADMIN', org.token)).data.stageUser.user.id as string;
    const disabled = await gw.gql<any>('mutation($o: ID!, $u: ID!) { setMembershipStatus(organizationId: $o, userId: $u, status: DISABLED) { status } }', { o: org.orgId, u: disabledUser }, org.token);
    expect(disabled.errors).toBeUndefined();
    const stagedUser = (await stage(org.orgId, 'staged.member@locked.example', 'MEMBER', org.token)).data.stageUser.user.id as string;

    let mark = await lastEventId(t);
    const users = (await counts()).users;
    const reactivated = await grant(org.orgId, 'GONE.admin@locked.example');
    expect(reactivated.admin.userId).toBe(disabledUser);
    expect(await membership(org.orgId, disabledUser)).toEqual({ role: 'ORG_ADMIN', status: 'ACTIVE', source: 'MANUAL' });
    expect(await eventsOf(org.orgId, disabledUser, mark)).toEqual([['STATUS_CHANGED', 'cli', 'ORG_ADMIN', 'ORG_ADMIN', 'DISABLED', 'ACTIVE']]);

    mark = await lastEventId(t);
    const promoted = await grant(org.orgId, 'staged.member@locked.example');
    expect(promoted.admin.userId).toBe(stagedUser);
    expect(await membership(org.orgId, stagedUser)).toEqual({ role: 'ORG_ADMIN', status: 'ACTIVE', source: 'MANUAL' });
    const events = await eventsOf(org.orgId, stagedUser, mark);
    expect(events.map((e) => [e[0], e[1]])).toEqual([
      ['ROLE_CHANGED', 'cli'],
      ['STATUS_CHANGED', 'cli'],
    ]);
    expect(events[events.length - 1]!.slice(2)).toEqual(['ORG_ADMIN', 'ORG_ADMIN', 'STAGED', 'ACTIVE']);
    expect((await counts()).users).toBe(users);

    // An ACTIVE ORG_ADMIN already: no event, only a new token.
    mark = await lastEventId(t);
    const again = await grant(org.orgId, 'staged.member@locked.example');
    expect(again.admin.userId).toBe(stagedUser);
    expect(again.apiToken.token).not.toBe(promoted.apiToken.token);
    expect(await lastEventId(t)).toBe(mark);
  });

  test('without --json it prints a readable summary with the token', async () => {
    const org = await gw.bootstrap('Readable');
    const r = await orgway(['grant-admin', '--org-id', org.orgId, '--admin-email', 'reader@readable.example'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^reader@readable\\.example \\(usr_\\w+\\) is now an ACTIVE ORG_ADMIN of Readable \\(${org.orgId}\\)\\nOPERATOR API token \\(shown once; use as "Authorization: Bearer <token>"\\):\\n {2}ogwa_\\S+\\n$`),
    );
    const token = /\n {2}(ogwa_\S+)\n$/.exec(r.stdout)![1]!;
    expect((await gw.gql<any>('{ viewer { currentOrganization { id } } }', {}, token)).data.viewer.currentOrganization.id).toBe(org.orgId);
  });

  test('an unknown organization exits 1 with NOT_FOUND; nothing is created', async () => {
    const before = await counts();
    const r = await orgway(['grant-admin', '--org-id', 'no-such-org', '--admin-email', 'nobody.new@example.com', '--json'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^orgway: NOT_FOUND: .*no-such-org/);
    expect(r.stdout).toBe('');
    expect(await counts()).toEqual(before);
  });

  test('usage errors exit 2 with the usage or a message naming the flag; nothing is created', async () => {
    const before = await counts();
    for (const [args, message] of [
      [['grant-admin'], 'grant-admin needs --org-id and --admin-email.'],
      [['grant-admin', '--org-id', 'x'], 'grant-admin needs --admin-email.'],
      [['grant-admin', '--admin-email', 'x@example.com', '--json'], 'grant-admin needs --org-id.'],
      [['grant-admin', '--org-id', 'x', '--admin-email', 'x@example.com', '--org-name', 'Y'], '--org-name'],
      [['grant-admin', '--org-id', 'x', '--admin-email', 'not-an-email'], '--admin-email: "not-an-email" is not a valid email address'],
      [['grant-admin', '--org-id', 'has space', '--admin-email', 'x@example.com'], '--org-id: "has space" is not a valid organization id'],
    ] as const) {
      const r = await orgway([...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(r.stdout).toBe('');
    }
    expect(await counts()).toEqual(before);
  });

  test('--help and the usage name grant-admin', async () => {
    const r = await orgway(['grant-admin', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('orgway grant-admin --org-id <id> --admin-email <email> [--json]');
  });
});
