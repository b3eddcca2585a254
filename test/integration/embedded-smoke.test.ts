/**
 * The zero-set-up path: no DATABASE_URL, so the compiled gateway uses an embedded
 * PGlite database under ORGWAY_DATA_DIR, created and migrated on first use, and found
 * again after a restart. PGlite is single-process: bootstrap first, then serve.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BIN, ensureBuilt, killAll, run, startServer } from '../kit/compiled.js';

let dataDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  await ensureBuilt();
  dataDir = join(mkdtempSync(join(tmpdir(), 'orgway-embedded-')), 'data');
  // DATABASE_URL deliberately absent (the helper never passes the parent's environment on).
  env = { ORGWAY_DATA_DIR: dataDir, LOG_LEVEL: 'info', ORGWAY_SHUTDOWN_TIMEOUT_MS: '5000' };
}, 180_000);
afterAll(() => {
  killAll();
  if (dataDir) rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

const gql = async (url: string, query: string, token: string) => {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { data?: any; errors?: unknown[] };
};

const stop = async (child: Awaited<ReturnType<typeof startServer>>['child']) => {
  child.proc.kill('SIGTERM');
  expect(await child.exited(20_000)).toEqual({ code: 0, signal: null });
};

test('bootstrap creates and migrates the embedded database; the server answers GraphQL on it and finds it again after a restart', async () => {
  const boot = await run([BIN, 'bootstrap', '--org-name', 'Embedded', '--admin-email', 'owner@embedded.example', '--json'], env, 90_000);
  expect(boot.code, boot.stderr).toBe(0);
  const out = JSON.parse(boot.stdout) as { organization: { id: string }; apiToken: { token: string } };
  expect(readdirSync(dataDir).length).toBeGreaterThan(0);
  const token = out.apiToken.token;

  const first = await startServer(env, 90_000);
  const started = first.child.logs().find((l) => typeof l.address === 'string')!;
  expect(started.database).toBe(`embedded (${dataDir})`);
  expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
  const viewer = await gql(first.url, '{ viewer { user { email } currentOrganization { id name } currentMembership { role } } }', token);
  expect(viewer.errors).toBeUndefined();
  expect(viewer.data.viewer).toEqual({
    user: { email: 'owner@embedded.example' },
    currentOrganization: { id: out.organization.id, name: 'Embedded' },
    currentMembership: { role: 'ORG_ADMIN' },
  });
  const kids = ((await (await fetch(`${first.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  expect(kids).toHaveLength(1);

  // Events travel in-process in embedded mode: a change reaches a live subscription.
  const client = createClient({
    url: `${first.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const event = new Promise<any>((resolve, reject) =>
    client.subscribe(
      { query: `subscription { membershipChanged(organizationId: "${out.organization.id}") { type } }` },
      { next: (v) => resolve(v.data), error: reject, complete: () => undefined },
    ),
  );
  await new Promise<void>((resolve) => client.on('connected', () => resolve()));
  await new Promise((r) => setTimeout(r, 200));
  const staged = await gql(first.url, `mutation { stageUser(organizationId: "${out.organization.id}", email: "kept@embedded.example") { status } }`, token);
  expect(staged.errors).toBeUndefined();
  expect(await event).toEqual({ membershipChanged: { type: 'JOINED' } });
  await client.dispose();

  // A second process on the same files would corrupt them: it is refused and changes nothing.
  const refused = await run([BIN, 'bootstrap', '--org-name', 'Second', '--admin-email', 'second@embedded.example', '--json'], env, 60_000);
  expect(refused.code).toBe(1);
  expect(refused.stderr.startsWith(`orgway: the embedded database in ORGWAY_DATA_DIR (${dataDir}) is in use by process ${first.child.proc.pid}.`), refused.stderr).toBe(true);
  expect(refused.stdout).toBe('');
  await stop(first.child);
  expect(existsSync(join(dataDir, 'orgway.lock'))).toBe(false);

  // A lock left by a process that is gone (kill -9, crash) does not block the next start.
  writeFileSync(join(dataDir, 'orgway.lock'), '2147483646\n');

  // A restart opens the same files: same users, same signing key, same token.
  const second = await startServer(env, 90_000);
  const again = await gql(second.url, `{ organization(id: "${out.organization.id}") { name members { totalCount edges { node { status user { email } } } } } }`, token);
  expect(again.errors).toBeUndefined();
  expect(again.data.organization.name).toBe('Embedded');
  expect(again.data.organization.members.totalCount).toBe(2);
  expect(again.data.organization.members.edges.map((e: any) => e.node.user.email).sort()).toEqual(['kept@embedded.example', 'owner@embedded.example']);
  const kidsAgain = ((await (await fetch(`${second.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  expect(kidsAgain).toEqual(kids);
  const orgs = await gql(second.url, '{ viewer { organizations { totalCount } } }', token);
  expect(orgs.data.viewer.organizations.totalCount).toBe(1);
  await stop(second.child);
}, 240_000);
