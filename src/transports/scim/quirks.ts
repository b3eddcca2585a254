/**
 * What real provisioning clients send, normalised in ONE place before validation and
 * the domain (SPEC §3). Everything downstream sees canonical
 * RFC 7643/7644 input only. Each rule names the client that needs it:
 *
 * 1. PATCH op names in any case: Entra ID sends "Replace", "Add", "Remove" (RFC 7644
 *    §3.5.2 spells them lower-case).                                  → lower-cased
 * 2. Booleans as strings: Entra ID sends `"active": "False"` (and "True"), also for
 *    `primary`.                                                        → booleans
 * 3. PATCH without `path` carrying an object: Okta deactivates with
 *    `{"op":"replace","value":{"active":false}}`; Entra ID (before aadOptscim062020)
 *    sends keys that are themselves paths (`"name.givenName"`,
 *    `"emails[type eq \"work\"].value"`, URN-qualified extension attributes).
 *                                                  → one operation per key, with that key as `path`
 * 4. Okta renames a group with `{"op":"replace","value":{"id":"…","displayName":"…"}}`:
 *    the read-only `id`, when it is the resource's own id, is dropped.
 * 5. Attribute names in any case (RFC 7643 §2.1 makes them case-insensitive; clients
 *    write `username`, `Emails`…), and core-schema-qualified paths
 *    (`urn:ietf:params:scim:schemas:core:2.0:User:userName`).           → canonical names
 * 6. Multi-valued attributes given one value instead of an array (`"members": {"value":…}`).
 *                                                                      → one-element array
 * 7. Group members as Entra ID and Okta send them: `{"$ref": null, "value": "…"}`,
 *    `{"value": "…", "display": "…"}`; `members[value eq "…"]` paths.
 *                                                  → `{"value": "…"}` (display is read-only)
 * 8. Entra ID adds its own `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group`
 *    URN to the `schemas` of a Group.                                  → dropped
 * 9. Okta sends a generated `password` on create and password PATCHes: orgway has no
 *    passwords (sign-in is SSO).                                       → dropped
 * 10. Entra ID sends `"roles": []` on create. Empty `roles`, `entitlements` and
 *    `x509Certificates` are dropped; non-empty ones are refused by validation (not supported).
 * 11. Entra ID sends the enterprise `manager` as a bare id string in PATCH.
 *                                                                      → `{"value": "…"}`
 */
import { type AttributeDef, findAttribute, GROUP_RESOURCE, type ResourceDef } from './schema.js';
import { resolvePatchPath } from './paths.js';

export const MICROSOFT_GROUP_SCHEMA = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const IGNORED_SCHEMAS = new Set([MICROSOFT_GROUP_SCHEMA.toLowerCase()]);
/** Attributes dropped whatever their value (rule 9). */
const DROPPED = new Set(['password']);
/** RFC 7643 User attributes we do not support, dropped when empty (rule 10). */
const DROPPED_WHEN_EMPTY = new Set(['roles', 'entitlements', 'x509certificates']);

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isEmpty = (v: unknown) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

const boolean = (v: unknown): unknown => (typeof v === 'string' && /^(true|false)$/i.test(v.trim()) ? v.trim().toLowerCase() === 'true' : v);

const member = (v: unknown): unknown => {
  if (typeof v === 'string') return { value: v };
  if (!isPlainObject(v)) return v;
  const type = Object.entries(v).find(([k]) => k.toLowerCase() === 'type')?.[1];
  const value = Object.entries(v).find(([k]) => k.toLowerCase() === 'value')?.[1];
  // Keep a non-User type so validation can refuse nested groups with a clear message.
  return typeof type === 'string' && type.toLowerCase() !== 'user' ? { value, type } : { value };
};

/** One value of an attribute, in canonical form (rules 2, 5, 7, 11). */
const single = (def: AttributeDef, v: unknown, resource: ResourceDef): unknown => {
  if (def.type === 'boolean') return boolean(v);
  if (def.type !== 'complex') return v;
  if (resource === GROUP_RESOURCE && def.name === 'members') return member(v);
  if (def.name === 'manager' && typeof v === 'string') return { value: v };
  return isPlainObject(v) ? object(def.subAttributes ?? [], v, resource) : v;
};

/** A value of an attribute (rule 6 for multi-valued ones). */
export const canonicalValue = (def: AttributeDef, v: unknown, resource: ResourceDef): unknown => {
  if (v === null || v === undefined) return v;
  if (def.multiValued) return (Array.isArray(v) ? v : [v]).map((x) => single(def, x, resource));
  return single(def, v, resource);
};

const object = (defs: readonly AttributeDef[], o: Record<string, unknown>, resource: ResourceDef): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const def = findAttribute(defs, k);
    if (!def) {
      out[k] = v; // unknown: validation refuses it with its name
      continue;
    }
    if (def.name === '$ref' && v === null) continue; // rule 7
    out[def.name] = canonicalValue(def, v, resource);
  }
  return out;
};

/** A POST or PUT body in canonical form. Unknown attributes are kept for validation to name. */
export const normalizeResourceBody = (resource: ResourceDef, body: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (DROPPED.has(lower)) continue;
    if (DROPPED_WHEN_EMPTY.has(lower) && isEmpty(value)) continue;
    if (lower === 'schemas') {
      out.schemas = Array.isArray(value) ? value.filter((s) => typeof s !== 'string' || !IGNORED_SCHEMAS.has(s.toLowerCase())) : value;
      continue;
    }
    const path = resolvePatchPath(resource, key);
    if (path?.extension && path.keys.length === 1) {
      const ext = resource.extensions.find((e) => e.id === path.extension)!;
      out[ext.id] = isPlainObject(value) ? object(ext.attributes, value, resource) : value;
    } else if (path?.def && path.keys.length === 1 && path.filter === undefined) {
      out[path.def.name] = canonicalValue(path.def, value, resource);
    } else {
      out[key] = value; // unknown: validation refuses it with its name
    }
  }
  return out;
};

export interface PatchOperation {
  op: string;
  path?: string;
  value?: unknown;
}

/**
 * PATCH operations in canonical form: lower-case op names (1), one operation per
 * attribute for path-less ones (3, 4), canonical paths (5) and values (2, 6, 7, 11),
 * nothing for dropped attributes (9, 10). Paths that name nothing are left as written,
 * for validation to refuse with `invalidPath`.
 */
export const normalizePatchOperations = (resource: ResourceDef, operations: readonly PatchOperation[], resourceId: string): PatchOperation[] => {
  const out: PatchOperation[] = [];
  for (const raw of operations) {
    const op = typeof raw.op === 'string' ? raw.op.trim().toLowerCase() : raw.op;
    if (raw.path === undefined || raw.path === null || raw.path === '') {
      if (op !== 'remove' && isPlainObject(raw.value)) {
        for (const [key, value] of Object.entries(raw.value)) out.push(...normalizePatchOperations(resource, [{ op, path: key, value }], resourceId));
        continue;
      }
      out.push({ op, ...('value' in raw ? { value: raw.value } : {}) });
      continue;
    }
    if (typeof raw.path !== 'string') {
      out.push({ ...raw, op });
      continue;
    }
    const lower = raw.path.trim().toLowerCase();
    if (DROPPED.has(lower) || (DROPPED_WHEN_EMPTY.has(lower) && isEmpty(raw.value))) continue;
    const path = resolvePatchPath(resource, raw.path);
    if (!path) {
      out.push({ ...raw, op });
      continue;
    }
    if (path.keys.length === 1 && path.def?.name === 'id' && raw.value === resourceId) continue; // rule 4
    if (!('value' in raw)) {
      out.push({ op, path: path.canonical });
      continue;
    }
    let value = raw.value;
    if (path.def) {
      // `attr[filter]` targets one value of a multi-valued attribute.
      const single = path.filter !== undefined && path.def === path.top;
      value = canonicalValue(single ? { ...path.def, multiValued: false } : path.def, value, resource);
    } else if (path.extension && isPlainObject(value)) {
      value = object(resource.extensions.find((e) => e.id === path.extension)!.attributes, value, resource);
    }
    out.push({ op, path: path.canonical, value });
  }
  return out;
};
