/**
 * The floor: what the same two questions cost with nothing in between — a bare
 * `node:http` server and a `pg` Pool with hand-written SQL, answering in the same
 * JSON shape as the gateway's GraphQL responses. Both endpoints authenticate the
 * bearer secret the same way the gateway does (SHA-256 → sessions.token_hash).
 *
 * POST /viewer  `{ "first": 50 }`            → one SQL statement (authentication included)
 * POST /switch  `{ "organizationId": "…" }` → BEGIN; select; one update of membership,
 *                                               user and session; COMMIT; ES256 JWT (jose)
 * POST /members `{ "organizationId": "…", "first": 50 }` → one SQL statement: the viewer's
 *                                               membership, the organization and a page of members
 *
 * Started by bench/run.js; it is not a product and has no other callers.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { importJWK, type JWK, SignJWT } from 'jose';
import pg from 'pg';
import { canEnter, effectivePermissions, type OrganizationRole, type UserStatus } from '../src/domain/model/index.js';
import { serveChild } from './lib/child.js';

const databaseUrl = process.env.BENCH_GATEWAY_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_GATEWAY_DATABASE_URL is not set');
const ISSUER = process.env.BENCH_ISSUER ?? 'http://127.0.0.1:4000';
const AUDIENCE = process.env.BENCH_AUDIENCE ?? 'orgway';
const TTL_SECONDS = Number(process.env.BENCH_TOKEN_TTL ?? 600);
const MAX_BODY = 64 * 1024;

// The gateway's pool is 10 connections (openDatabase's default); the floor gets the same.
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, application_name: 'orgway-bench-floor' });
let statements = 0;
const query = <R extends pg.QueryResultRow>(client: pg.Pool | pg.PoolClient, text: string, values?: unknown[]) => {
  statements += 1;
  return client.query<R>(text, values);
};

const keyRow = (
  await pool.query<{ kid: string; private_jwk: JWK }>('select kid, private_jwk from signing_keys where retired_at is null order by created_at desc limit 1')
).rows[0];
if (!keyRow) throw new Error('no signing key (start the gateway once first)');
const signingKey = await importJWK(keyRow.private_jwk, 'ES256');

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const bearer = (req: IncomingMessage): string => {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) throw new HttpError(401, 'missing bearer token');
  return m[1]!;
};

const readJson = (req: IncomingMessage): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new HttpError(413, 'body too large'));
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'body is not JSON'));
      }
    });
    req.on('error', reject);
  });

interface ViewerRow {
  user_id: string;
  oid: string | null;
  name: string | null;
  role: OrganizationRole | null;
  status: UserStatus | null;
  team_id: string | null;
  policies: string[] | null;
  mine: boolean;
}

const VIEWER_SQL = `
with s as (
  select user_id from sessions
   where token_hash = $1 and revoked_at is null and (expires_at is null or expires_at > now())
), page as (
  select m.id as mid, m.role, m.status, o.id as oid, o.name
    from s join memberships m on m.user_id = s.user_id join organizations o on o.id = m.organization_id
   order by o.name, o.id limit $2
)
select s.user_id, p.oid, p.name, p.role, p.status, t.team_id, t.policies, (tm.membership_id is not null) as mine
  from s left join page p on true
  left join teams t on t.organization_id = p.oid
  left join team_members tm on tm.team_key = t.key and tm.membership_id = p.mid
 order by p.name, p.oid, t.name, t.team_id`;

const viewer = async (req: IncomingMessage) => {
  const token = bearer(req);
  const body = await readJson(req);
  const first = typeof body.first === 'number' ? body.first : 50;
  if (!Number.isInteger(first) || first < 0 || first > 100) throw new HttpError(400, 'first must be between 0 and 100');
  const { rows } = await query<ViewerRow>(pool, VIEWER_SQL, [hashSecret(token), first]);
  if (rows.length === 0) throw new HttpError(401, 'unauthenticated');
  interface Edge {
    node: { id: string; name: string; teams: { id: string }[] };
    membership: { role: OrganizationRole; status: UserStatus; permissions: string[]; teams: { id: string }[] };
    policies: string[][];
  }
  const edges: Edge[] = [];
  let edge: Edge | undefined;
  for (const r of rows) {
    if (r.oid === null) continue;
    if (!edge || edge.node.id !== r.oid) {
      edge = { node: { id: r.oid, name: r.name!, teams: [] }, membership: { role: r.role!, status: r.status!, permissions: [], teams: [] }, policies: [] };
      edges.push(edge);
    }
    if (r.team_id === null) continue;
    edge.node.teams.push({ id: r.team_id });
    if (r.mine) {
      edge.membership.teams.push({ id: r.team_id });
      edge.policies.push(r.policies ?? []);
    }
  }
  return {
    data: {
      viewer: {
        organizations: {
          edges: edges.map((e) => ({
            node: e.node,
            membership: { role: e.membership.role, status: e.membership.status, permissions: effectivePermissions(e.membership, e.policies), teams: e.membership.teams },
          })),
        },
      },
    },
  };
};

interface SwitchRow {
  sid: string;
  user_id: string;
  mid: string;
  role: OrganizationRole;
  status: UserStatus;
  name: string;
  policies: string[][];
}

const SWITCH_SELECT = `
select s.id as sid, s.user_id, m.id as mid, m.role, m.status, o.name,
       coalesce((select jsonb_agg(t.policies) from team_members tm join teams t on t.key = tm.team_key
                  where tm.membership_id = m.id), '[]'::jsonb) as policies
  from sessions s
  join memberships m on m.user_id = s.user_id and m.organization_id = $2
  join organizations o on o.id = m.organization_id
 where s.token_hash = $1 and s.revoked_at is null and (s.expires_at is null or s.expires_at > now())`;

const SWITCH_UPDATE = `
with m as (update memberships set status = $1::varchar, last_visited_at = now(),
                  updated_at = case when status <> $1::varchar then now() else updated_at end
            where id = $2),
     u as (update users set last_visited_organization_id = $3, updated_at = now() where id = $4),
     s as (update sessions set current_organization_id = $3 where id = $5)
select 1`;

const switchOrganization = async (req: IncomingMessage) => {
  const token = bearer(req);
  const body = await readJson(req);
  const organizationId = body.organizationId;
  if (typeof organizationId !== 'string' || organizationId.length === 0 || organizationId.length > 64) throw new HttpError(400, 'organizationId');
  const client = await pool.connect();
  let row: SwitchRow;
  let appended = false;
  try {
    await query(client, 'begin');
    const found = (await query<SwitchRow>(client, SWITCH_SELECT, [hashSecret(token), organizationId])).rows[0];
    if (!found) throw new HttpError(404, 'not a member (or unauthenticated)');
    if (!canEnter(found)) throw new HttpError(403, 'cannot enter');
    row = found;
    const next: UserStatus = row.status === 'STAGED' || row.status === 'INVITED' ? 'ACTIVE' : row.status;
    await query(client, SWITCH_UPDATE, [next, row.mid, organizationId, row.user_id, row.sid]);
    if (next !== row.status) {
      // The event the gateway's membership writer records, with the same id scheme (docs/events.md).
      await query(
        client,
        `insert into membership_events (id, type, organization_id, user_id, membership_id, actor, role, status, previous_role, previous_status, occurred_at)
         values (pg_current_xact_id()::text::bigint << 20, 'STATUS_CHANGED', $1, $2, $3, $4, $5, 'ACTIVE', $5, $6, now())`,
        [organizationId, row.user_id, row.mid, `user:${row.user_id}`, row.role, row.status],
      );
      row = { ...row, status: next };
      appended = true;
    }
    await query(client, 'commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  // After commit, outside the transaction, as the gateway does.
  if (appended) void pool.query(`select pg_notify('orgway_membership_events', '')`).catch(() => undefined);
  const permissions = effectivePermissions(row, row.policies);
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + TTL_SECONDS;
  const jwt = await new SignJWT({ org: organizationId, role: row.role, perms: permissions, sid: row.sid })
    .setProtectedHeader({ alg: 'ES256', kid: keyRow.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setSubject(row.user_id)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(signingKey);
  return {
    data: {
      switchOrganization: {
        organization: { id: organizationId, name: row.name },
        membership: { role: row.role, status: row.status, permissions },
        accessToken: { token: jwt, expiresAt: new Date(exp * 1000).toISOString(), organizationId },
      },
    },
  };
};

interface MembersRow {
  oid: string | null;
  name: string | null;
  role: OrganizationRole | null;
  status: UserStatus | null;
  uid: string | null;
  email: string | null;
  display_name: string | null;
}

const MEMBERS_SQL = `
with o as (
  select o.id, o.name
    from sessions s join memberships vm on vm.user_id = s.user_id join organizations o on o.id = vm.organization_id
   where s.token_hash = $1 and s.revoked_at is null and (s.expires_at is null or s.expires_at > now())
     and o.id = $2 and vm.status = 'ACTIVE' and vm.role <> 'NO_ACCESS'
)
select o.id as oid, o.name, m.role, m.status, u.id as uid, u.email, u.display_name
  from o left join lateral (select * from memberships m where m.organization_id = o.id order by m.id limit $3) m on true
  left join users u on u.id = m.user_id
 order by m.id`;

const members = async (req: IncomingMessage) => {
  const token = bearer(req);
  const body = await readJson(req);
  const first = typeof body.first === 'number' ? body.first : 50;
  if (!Number.isInteger(first) || first < 0 || first > 100) throw new HttpError(400, 'first must be between 0 and 100');
  const { rows } = await query<MembersRow>(pool, MEMBERS_SQL, [hashSecret(token), String(body.organizationId), first]);
  if (rows.length === 0) throw new HttpError(404, 'no such organization');
  const edges = rows
    .filter((r) => r.uid !== null)
    .map((r) => ({ node: { role: r.role, status: r.status, user: { id: r.uid, email: r.email, displayName: r.display_name } } }));
  return { data: { organization: { id: rows[0]!.oid, name: rows[0]!.name, members: { edges } } } };
};

const routes: Record<string, (req: IncomingMessage) => Promise<unknown>> = {
  '/viewer': viewer,
  '/switch': switchOrganization,
  '/members': members,
};

const send = (res: ServerResponse, status: number, body: unknown) => {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
};

const server = createServer((req, res) => {
  const route = req.method === 'POST' ? routes[req.url ?? ''] : undefined;
  if (!route) return send(res, 404, { error: 'not found' });
  route(req).then(
    (body) => send(res, 200, body),
    (error: unknown) => {
      if (error instanceof HttpError) send(res, error.status, { error: error.message });
      else {
        process.stderr.write(`floor: ${String(error)}\n`);
        send(res, 500, { error: 'internal' });
      }
    },
  );
});
server.keepAliveTimeout = 30_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
if (!address || typeof address === 'string') throw new Error('no address');

serveChild(
  address.port,
  {
    sql: () => statements,
    cpu: () => process.cpuUsage(),
    resetSql: () => {
      statements = 0;
      return 0;
    },
  },
  async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pool.end();
  },
);
