/**
 * SCIM 2.0 service provider at /scim/v2 (SPEC §3; RFC 7643, RFC 7644).
 *
 * A route is: authenticate the SCIM token → parse (quirks → validation) → one domain
 * call (one transaction) → render. Everything is scoped to this plugin: the
 * `application/scim+json` / `application/json` body parser with its own limit, the
 * RFC 7644 §3.12 error handler, the 404 handler and the token check.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findIllFormedText, ILL_FORMED_TEXT } from '../../domain/model/index.js';
import type { OperationMetrics } from '../shared/metrics.js';
import { addressBlocked, countCredential, countUnauthenticated, type RateLimited, rateLimitMessage } from '../shared/rate-limit.js';
import type { ScimService } from '../../domain/scim/scim-service.js';
import { SCIM_DEFAULT_COUNT, SCIM_MAX_RESULTS, type ScimPrincipal } from '../../domain/scim/types.js';
import { RETRY_AFTER_SECONDS } from '../../domain/unavailable.js';
import { findResourceType, resourceType, resourceTypes, schemaResources, serviceProviderConfig } from './discovery.js';
import { badRequest, errorBody, ScimHttpError, toScimError } from './errors.js';
import { parseGroupFilter, parseUserFilter } from './filter.js';
import { applyPatch, preparePatch, readPatchMessage } from './patch.js';
import { parseProjection, project, type Projection, wants } from './projection.js';
import { groupPatchDocument, type Json, parseGroup, parseUser, renderGroup, renderUser } from './resources.js';
import { GROUP_RESOURCE, LIST_RESPONSE_SCHEMA, type ResourceDef, USER_RESOURCE } from './schema.js';

export const SCIM_PREFIX = '/scim/v2';
/** Largest SCIM request body (a Group PATCH with many members is the big one). */
export const SCIM_BODY_LIMIT = 1024 * 1024;
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

const principals = new WeakMap<FastifyRequest, ScimPrincipal>();

const principalOf = (req: FastifyRequest): ScimPrincipal => {
  const p = principals.get(req);
  if (!p) throw new ScimHttpError(401, null, 'Send "Authorization: Bearer <SCIM token>".');
  return p;
};

const send = (reply: FastifyReply, status: number, body?: unknown) => {
  reply.code(status).header('content-type', SCIM_CONTENT_TYPE);
  return body === undefined ? reply.send() : reply.send(JSON.stringify(body));
};

type Query = Record<string, string | string[] | undefined>;

/** Query parameters by name, case-insensitively; a repeated one is refused. */
const param = (req: FastifyRequest, name: string): string | undefined => {
  const q = (req.query ?? {}) as Query;
  const key = Object.keys(q).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : q[key];
  if (Array.isArray(v)) throw badRequest('invalidValue', `Give "${name}" once.`);
  return v;
};

const integer = (name: string, v: string): number => {
  if (!/^\s*-?\d{1,9}\s*$/.test(v)) throw badRequest('invalidValue', `${name} must be an integer (got "${v.slice(0, 20)}").`);
  return Number.parseInt(v, 10);
};

/** startIndex < 1 counts as 1 and count < 0 as 0 (RFC 7644 §3.4.2.4); count above the maximum is `tooMany`. */
const paging = (req: FastifyRequest): { startIndex: number; count: number } => {
  const s = param(req, 'startIndex');
  const c = param(req, 'count');
  const startIndex = s === undefined ? 1 : Math.max(1, integer('startIndex', s));
  const count = c === undefined ? SCIM_DEFAULT_COUNT : Math.max(0, integer('count', c));
  if (count > SCIM_MAX_RESULTS)
    throw badRequest('tooMany', `count must be at most ${SCIM_MAX_RESULTS} (ServiceProviderConfig filter.maxResults); page with startIndex.`);
  return { startIndex, count };
};

const projectionOf = (req: FastifyRequest, resource: ResourceDef): Projection =>
  parseProjection(resource, param(req, 'attributes'), param(req, 'excludedAttributes'));

const listResponse = (totalResults: number, startIndex: number, resources: Json[]) => ({
  schemas: [LIST_RESPONSE_SCHEMA],
  totalResults,
  startIndex,
  itemsPerPage: resources.length,
  Resources: resources,
});

const requireBody = (req: FastifyRequest): unknown => {
  if (req.body === undefined || req.body === null) throw badRequest('invalidSyntax', 'This request needs a JSON body (Content-Type: application/scim+json).');
  return req.body;
};

const idParam = (req: FastifyRequest): string => (req.params as { id: string }).id;

/** What the SCIM routes ask of the gateway. */
export interface ScimRouteServices extends RateLimited {
  readonly config: { readonly publicUrl: string };
  readonly scim: ScimService;
  readonly metrics: OperationMetrics;
}

export const registerScimRoutes = (app: FastifyInstance, services: ScimRouteServices): void => {
  const baseUrl = `${services.config.publicUrl}${SCIM_PREFIX}`;
  const { users, groups, tokens } = services.scim;

  void app.register(
    async (scim) => {
      scim.removeAllContentTypeParsers();
      scim.addContentTypeParser(['application/scim+json', 'application/json'], { parseAs: 'string', bodyLimit: SCIM_BODY_LIMIT }, (_req, body, done) => {
        const text = String(body);
        if (!text.trim()) return done(null, undefined);
        try {
          done(null, JSON.parse(text));
        } catch (error) {
          done(badRequest('invalidSyntax', `The body is not valid JSON: ${(error as Error).message}`), undefined);
        }
      });

      scim.setErrorHandler((error, req, reply) => {
        const mapped = toScimError(error);
        if (!mapped) {
          req.log.error({ err: error }, 'unexpected error in a SCIM request');
          return send(reply, 500, errorBody(500, null, 'Internal server error; the change, if any, was rolled back.'));
        }
        if (mapped.status === 401) reply.header('www-authenticate', 'Bearer realm="orgway SCIM"');
        if (mapped.status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
        return send(reply, mapped.status, mapped.body);
      });

      scim.setNotFoundHandler((req, reply) =>
        send(reply, 404, errorBody(404, null, `${req.method} ${req.url.split('?')[0]} is not a SCIM endpoint of this server; see ${baseUrl}/ResourceTypes.`)),
      );

      // orgway_operation_duration_seconds{transport="scim", operation="PATCH /Users/:id", outcome}
      scim.addHook('onResponse', async (req, reply) => {
        const route = (req.routeOptions.url ?? 'unmatched').replace(SCIM_PREFIX, '') || '/';
        services.metrics.operationDuration.observe(
          { transport: 'scim', operation: `${req.method} ${route}`, outcome: reply.statusCode < 400 ? 'ok' : 'error' },
          reply.elapsedTime / 1000,
        );
      });

      // Every SCIM request, discovery included, needs a live token of some organization.
      // SPEC §8 rate limits: the address before the token is looked up and when it fails, the token when it is valid.
      scim.addHook('onRequest', async (req, reply) => {
        const refuse = (seconds: number) => {
          reply.header('retry-after', String(seconds));
          return new ScimHttpError(429, null, rateLimitMessage(seconds));
        };
        const blocked = addressBlocked(services, req.ip);
        if (blocked !== null) throw refuse(blocked);
        let principal: ScimPrincipal;
        try {
          const header = req.headers.authorization;
          if (!header) throw new ScimHttpError(401, null, 'Send "Authorization: Bearer <SCIM token>"; an ORG_ADMIN creates one with the createScimToken mutation.');
          const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
          if (!m) throw new ScimHttpError(401, null, 'The Authorization header must be "Bearer <SCIM token>".');
          principal = await tokens.authenticate(m[1]!);
        } catch (error) {
          const wait = await countUnauthenticated(services, req.ip);
          throw wait === null ? error : refuse(wait);
        }
        const wait = countCredential(
          services,
          principal.tokenId,
          // Its creator: tokens minted in many organizations by one user share that user's allowance.
          principal.createdByUserId ? { userId: principal.createdByUserId } : { organizationId: principal.organizationId },
        );
        if (wait !== null) throw refuse(wait);
        principals.set(req, principal);
      });

      // SPEC §8 Text: one check of everything the request carries, before any route reads it.
      scim.addHook('preHandler', async (req) => {
        const where =
          findIllFormedText(req.params, 'path') ?? findIllFormedText(req.query, 'query') ?? findIllFormedText(req.body, 'body');
        if (where !== null) throw badRequest('invalidValue', `${where} ${ILL_FORMED_TEXT}.`);
      });

      // ---- discovery (RFC 7644 §4) ----
      scim.get('/ServiceProviderConfig', async (_req, reply) => send(reply, 200, serviceProviderConfig(baseUrl)));
      scim.get('/ResourceTypes', async (_req, reply) => {
        const all = resourceTypes(baseUrl);
        return send(reply, 200, listResponse(all.length, 1, all));
      });
      scim.get('/ResourceTypes/:id', async (req, reply) => {
        const r = findResourceType(idParam(req));
        if (!r) throw new ScimHttpError(404, null, `Resource type "${idParam(req)}" does not exist; there are User and Group.`);
        return send(reply, 200, resourceType(r, baseUrl));
      });
      scim.get('/Schemas', async (_req, reply) => {
        const all = schemaResources(baseUrl);
        return send(reply, 200, listResponse(all.length, 1, all));
      });
      scim.get('/Schemas/:id', async (req, reply) => {
        const s = schemaResources(baseUrl).find((x) => x.id.toLowerCase() === idParam(req).toLowerCase());
        if (!s) throw new ScimHttpError(404, null, `Schema "${idParam(req)}" is not supported here; GET /Schemas lists those that are.`);
        return send(reply, 200, s);
      });
      const notImplemented = (what: string) => async () => {
        throw new ScimHttpError(501, null, `${what} is not supported by this server (see /ServiceProviderConfig).`);
      };
      scim.post('/Bulk', notImplemented('Bulk'));
      scim.post('/.search', notImplemented('POST .search'));
      scim.post('/Users/.search', notImplemented('POST .search; use GET /Users?filter=…'));
      scim.post('/Groups/.search', notImplemented('POST .search; use GET /Groups?filter=…'));
      scim.all('/Me', notImplemented('/Me'));

      // ---- Users ----
      scim.get('/Users', async (req, reply) => {
        const projection = projectionOf(req, USER_RESOURCE);
        const expression = param(req, 'filter');
        const filter = expression === undefined ? null : parseUserFilter(expression);
        const r = await users.list(principalOf(req), { filter, ...paging(req) });
        return send(reply, 200, listResponse(r.totalResults, r.startIndex, r.items.map((v) => project(renderUser(v, baseUrl), projection))));
      });
      scim.post('/Users', async (req, reply) => {
        const projection = projectionOf(req, USER_RESOURCE);
        const input = parseUser(requireBody(req));
        const v = await users.create(principalOf(req), input);
        reply.header('location', `${baseUrl}/Users/${v.id}`);
        return send(reply, 201, project(renderUser(v, baseUrl), projection));
      });
      scim.get('/Users/:id', async (req, reply) => {
        const projection = projectionOf(req, USER_RESOURCE);
        const v = await users.get(principalOf(req), idParam(req));
        return send(reply, 200, project(renderUser(v, baseUrl), projection));
      });
      scim.put('/Users/:id', async (req, reply) => {
        const projection = projectionOf(req, USER_RESOURCE);
        const input = parseUser(requireBody(req));
        const v = await users.replace(principalOf(req), idParam(req), input);
        return send(reply, 200, project(renderUser(v, baseUrl), projection));
      });
      scim.patch('/Users/:id', async (req, reply) => {
        const projection = projectionOf(req, USER_RESOURCE);
        const id = idParam(req);
        const ops = preparePatch(USER_RESOURCE, readPatchMessage(requireBody(req)), id);
        const v = await users.replace(principalOf(req), id, (current) => parseUser(applyPatch(renderUser(current, baseUrl), ops)));
        return send(reply, 200, project(renderUser(v, baseUrl), projection));
      });
      scim.delete('/Users/:id', async (req, reply) => {
        await users.remove(principalOf(req), idParam(req));
        return send(reply, 204);
      });

      // ---- Groups ----
      scim.get('/Groups', async (req, reply) => {
        const projection = projectionOf(req, GROUP_RESOURCE);
        const expression = param(req, 'filter');
        const filter = expression === undefined ? null : parseGroupFilter(expression);
        const r = await groups.list(principalOf(req), { filter, ...paging(req) }, wants(projection, 'members'));
        return send(reply, 200, listResponse(r.totalResults, r.startIndex, r.items.map((v) => project(renderGroup(v, baseUrl), projection))));
      });
      scim.post('/Groups', async (req, reply) => {
        const projection = projectionOf(req, GROUP_RESOURCE);
        const input = parseGroup(requireBody(req));
        const v = await groups.create(principalOf(req), input, wants(projection, 'members'));
        reply.header('location', `${baseUrl}/Groups/${v.id}`);
        return send(reply, 201, project(renderGroup(v, baseUrl), projection));
      });
      scim.get('/Groups/:id', async (req, reply) => {
        const projection = projectionOf(req, GROUP_RESOURCE);
        const v = await groups.get(principalOf(req), idParam(req), wants(projection, 'members'));
        return send(reply, 200, project(renderGroup(v, baseUrl), projection));
      });
      scim.put('/Groups/:id', async (req, reply) => {
        const projection = projectionOf(req, GROUP_RESOURCE);
        const input = parseGroup(requireBody(req), 'keep');
        const v = await groups.replace(principalOf(req), idParam(req), input, wants(projection, 'members'));
        return send(reply, 200, project(renderGroup(v, baseUrl), projection));
      });
      scim.patch('/Groups/:id', async (req, reply) => {
        const projection = projectionOf(req, GROUP_RESOURCE);
        const id = idParam(req);
        const ops = preparePatch(GROUP_RESOURCE, readPatchMessage(requireBody(req)), id);
        const v = await groups.replace(
          principalOf(req),
          id,
          (current) => parseGroup(applyPatch(groupPatchDocument(current, baseUrl), ops), 'none'),
          wants(projection, 'members'),
        );
        return send(reply, 200, project(renderGroup(v, baseUrl), projection));
      });
      scim.delete('/Groups/:id', async (req, reply) => {
        await groups.remove(principalOf(req), idParam(req));
        return send(reply, 204);
      });
    },
    { prefix: SCIM_PREFIX },
  );
};
