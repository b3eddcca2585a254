/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes a
 * response carries. `id` and `schemas` are always returned; names resolve
 * case-insensitively through the schema, and an unknown name is `invalidPath`.
 */
import { badRequest } from './errors.js';
import { resolveAttributePath } from './paths.js';
import type { ResourceDef } from './schema.js';
import type { Json } from './resources.js';

export interface Projection {
  include: string[][] | null;
  exclude: string[][] | null;
}

const ALWAYS = new Set(['id', 'schemas']);

const parseList = (resource: ResourceDef, value: string | undefined, param: string): string[][] | null => {
  if (value === undefined) return null;
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  return names.map((name) => {
    const path = resolveAttributePath(resource, name);
    if (!path) throw badRequest('invalidPath', `${param}: "${name}" is not an attribute of the ${resource.name} schema this server supports (see /Schemas).`);
    return path.keys;
  });
};

export const parseProjection = (resource: ResourceDef, attributes: string | undefined, excludedAttributes: string | undefined): Projection => ({
  include: parseList(resource, attributes, 'attributes'),
  exclude: parseList(resource, excludedAttributes, 'excludedAttributes'),
});

/** Whether a response needs this top-level attribute (e.g. to skip loading Group members). */
export const wants = (p: Projection, key: string): boolean => {
  if (p.exclude?.some((k) => k.length === 1 && k[0] === key)) return false;
  if (p.include) return p.include.some((k) => k[0] === key);
  return true;
};

const pick = (value: unknown, paths: string[][]): unknown => {
  if (paths.some((p) => p.length === 0)) return value;
  if (Array.isArray(value)) return value.map((v) => pick(v, paths));
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    const sub = paths.filter((p) => p[0] === k).map((p) => p.slice(1));
    if (sub.length) out[k] = pick(v, sub);
  }
  return out;
};

const drop = (value: unknown, path: string[]): unknown => {
  if (Array.isArray(value)) return value.map((v) => drop(v, path));
  if (!value || typeof value !== 'object') return value;
  const [head, ...rest] = path;
  const out: Json = { ...(value as Json) };
  if (!(head! in out)) return out;
  if (rest.length === 0) delete out[head!];
  else out[head!] = drop(out[head!], rest);
  return out;
};

export const project = (resource: Json, p: Projection): Json => {
  let out = resource;
  if (p.include) {
    const picked = pick(resource, [...p.include, ...[...ALWAYS].map((k) => [k])]) as Json;
    out = picked;
  }
  if (p.exclude) for (const path of p.exclude) if (!(path.length === 1 && ALWAYS.has(path[0]!))) out = drop(out, path) as Json;
  return out;
};
