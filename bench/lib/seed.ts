/**
 * The benchmark's world, built through the gateway's own use cases (so every row,
 * event and constraint is what production would hold):
 *
 * - an owner (ORG_ADMIN) of 50 organizations, each with 3 teams carrying policies;
 * - the viewer: a member of all 50 (roles ADMIN / MEMBER / VIEWER / ORG_ADMIN in turn,
 *   ACTIVE except every 10th left STAGED), in 1 or 2 teams of each;
 * - one "switcher" per load worker, each a member of 10 of the organizations (in
 *   team 0 there), entered once so every later switch is a steady-state switch;
 * - a target member of the first organization whose role the fan-out phase toggles;
 * - 50 more members of the first organization (the members phase reads a page of 50), and
 *   10,000 users of other organizations (rows only), so the members page runs in a database
 *   larger than its organization.
 */
import type { Container } from '../../src/app/container.js';
import type { Principal } from '../../src/domain/access.js';
import type { OrganizationRole } from '../../src/domain/model/index.js';
import { mapLimit } from './load.js';

export interface Switcher {
  userId: string;
  token: string;
  organizationIds: string[];
}

export interface World {
  owner: Principal;
  organizationIds: string[];
  viewer: { userId: string; token: string; principal: Principal };
  switchers: Switcher[];
  fanout: { organizationId: string; targetUserId: string };
}

export interface SeedOptions {
  organizations: number;
  teamsPerOrganization: number;
  switchers: number;
  organizationsPerSwitcher: number;
  /** Parallel use cases while seeding. */
  parallel: number;
}

const VIEWER_ROLES: OrganizationRole[] = ['ADMIN', 'MEMBER', 'VIEWER', 'ORG_ADMIN'];

export const seedWorld = async (c: Container, o: SeedOptions): Promise<World> => {
  const pad = (n: number) => String(n).padStart(3, '0');
  const first = await c.organizations.bootstrap({ organizationName: `Bench org ${pad(0)}`, adminEmail: 'owner@bench.example.com' });
  const owner = await c.identity.authenticate(first.apiToken.token);
  const rest = await mapLimit(
    Array.from({ length: o.organizations - 1 }, (_, i) => i + 1),
    o.parallel,
    (i) => c.organizations.createOrganization(owner, { name: `Bench org ${pad(i)}` }),
  );
  const organizationIds = [first.organization.id, ...rest.map((org) => org.id)];

  // Teams with policies, in every organization.
  const teams = await mapLimit(organizationIds, o.parallel, async (orgId, i) => {
    const ids: string[] = [];
    for (let k = 0; k < o.teamsPerOrganization; k++) {
      const t = await c.teams.createTeam(owner, orgId, {
        name: `Team ${k}`,
        policies: [`projects:${k}:read`, `deployments:${k}:write`, `billing:${(i + k) % 5}:read`],
      });
      ids.push(t.teamId);
    }
    return ids;
  });

  // The viewer: 50 memberships with mixed roles, in one or two teams of each organization.
  const viewerEmail = 'viewer@bench.example.com';
  const joinViewer = async (orgId: string, i: number) => {
    const m = await c.memberships.stageUser(owner, orgId, viewerEmail, VIEWER_ROLES[i % VIEWER_ROLES.length]!);
    const userId = typeof m.user === 'string' ? m.user : m.user.id;
    await c.teams.addTeamMembers(owner, orgId, teams[i]![0]!, [userId]);
    if (i % 2 === 0 && teams[i]!.length > 1) await c.teams.addTeamMembers(owner, orgId, teams[i]![1]!, [userId]);
  };
  // The first one creates the user; the others may then run side by side.
  await joinViewer(organizationIds[0]!, 0);
  await mapLimit(organizationIds.slice(1), o.parallel, (orgId, i) => joinViewer(orgId, i + 1));
  const viewerUser = await c.identity.findUserByEmail(viewerEmail);
  if (!viewerUser) throw new Error('seed: viewer missing');
  // Every organization trusts one SAML connection, and the viewer and switchers signed in
  // through it: the access rule then takes its costliest branch (the trust lookup).
  const connectionId = 'scn_bench';
  await c.db.em().execute(
    `insert into saml_connections (id, owner_organization_id, name, idp_entity_id, sso_url, signing_certificates, attribute_prefix, allow_idp_initiated, created_at, updated_at)
     values (?, ?, 'Bench IdP', 'https://idp.bench.example/metadata', 'https://idp.bench.example/sso', '[]', 'SPOTINST', false, now(), now())`,
    [connectionId, organizationIds[0]],
  );
  await c.db.em().execute(
    `insert into saml_trusts (id, connection_id, organization_id, created_at)
     select 'str_bench_' || o, ?, o, now() from jsonb_array_elements_text(?::jsonb) o`,
    [connectionId, JSON.stringify(organizationIds)],
  );
  const sso = [`SSO:${connectionId}` as const];
  const viewerSession = await c.identity.createSession(viewerUser.id, null, sso);
  const viewerPrincipal = await c.identity.authenticate(viewerSession.token);
  // Enter 9 in 10 (STAGED → ACTIVE); the rest stay STAGED, as freshly provisioned users do.
  for (const [i, orgId] of organizationIds.entries()) if (i % 10 !== 9) await c.memberships.switchOrganization(viewerPrincipal, orgId);

  // Switchers: one per load worker.
  const switchers = await mapLimit(
    Array.from({ length: o.switchers }, (_, w) => w),
    Math.max(1, Math.floor(o.parallel / 2)),
    async (w): Promise<Switcher> => {
      const email = `switcher${pad(w)}@bench.example.com`;
      const orgIds = Array.from({ length: o.organizationsPerSwitcher }, (_, j) => organizationIds[(w + j * 5) % organizationIds.length]!);
      const unique = [...new Set(orgIds)];
      let userId = '';
      for (const [j, orgId] of unique.entries()) {
        const m = await c.memberships.stageUser(owner, orgId, email, j % 3 === 0 ? 'ADMIN' : 'MEMBER');
        userId = typeof m.user === 'string' ? m.user : m.user.id;
        const orgIndex = organizationIds.indexOf(orgId);
        await c.teams.addTeamMembers(owner, orgId, teams[orgIndex]![0]!, [userId]);
      }
      const session = await c.identity.createSession(userId, null, sso);
      const principal = await c.identity.authenticate(session.token);
      for (const orgId of unique) await c.memberships.switchOrganization(principal, orgId);
      return { userId, token: session.token, organizationIds: unique };
    },
  );

  await mapLimit(
    Array.from({ length: 50 }, (_, i) => i),
    o.parallel,
    (i) => c.memberships.stageUser(owner, organizationIds[0]!, `member${pad(i)}@bench.example.com`, i % 5 === 0 ? 'ADMIN' : 'MEMBER'),
  );
  await c.db.em().execute(
    `insert into organizations (id, name, created_at, updated_at)
     select 'org_bench_bg_' || g, 'Background ' || g, now(), now() from generate_series(1, 1000) g`,
  );
  await c.db.em().execute(
    `insert into users (id, email, created_at, updated_at)
     select 'usr_bench_bg_' || g, 'bg' || g || '@background.example.com', now(), now() from generate_series(1, 10000) g`,
  );
  await c.db.em().execute(
    `insert into memberships (id, user_id, organization_id, role, status, source, created_at, updated_at)
     select 'mem_bench_bg_' || g, 'usr_bench_bg_' || g, 'org_bench_bg_' || (1 + g % 1000), 'MEMBER', 'ACTIVE', 'MANUAL', now(), now()
       from generate_series(1, 10000) g`,
  );
  await c.db.em().execute('analyze');

  const target = await c.memberships.stageUser(owner, organizationIds[0]!, 'target@bench.example.com', 'MEMBER');
  const targetUserId = typeof target.user === 'string' ? target.user : target.user.id;

  return {
    owner,
    organizationIds,
    viewer: { userId: viewerUser.id, token: viewerSession.token, principal: viewerPrincipal },
    switchers,
    fanout: { organizationId: organizationIds[0]!, targetUserId },
  };
};
