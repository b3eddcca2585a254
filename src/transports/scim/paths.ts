/**
 * Attribute paths (RFC 7644 §3.10): `attr`, `attr.sub`, `<schema URN>:attr[.sub]`, or a
 * whole extension by its URN; with PATCH, also `attr[filter]` and `attr[filter].sub`.
 * Names compare case-insensitively (RFC 7643 §2.1) and resolve to the canonical keys of
 * our JSON, which scim-patch and the projection need (both compare keys exactly).
 */
import { type AttributeDef, COMMON_ATTRIBUTES, findAttribute, type ResourceDef } from './schema.js';

export interface ResolvedPath {
  /** Canonical JSON keys, e.g. ['name', 'givenName'] or ['urn:…:enterprise:2.0:User', 'department']. */
  keys: string[];
  /** The attribute named last; undefined for a whole extension. */
  def: AttributeDef | undefined;
  /** The top-level attribute (or undefined for a whole extension / an extension attribute's parent). */
  top: AttributeDef | undefined;
  extension: string | undefined;
}

export interface ResolvedPatchPath extends ResolvedPath {
  /** The value filter of `attr[filter]`, as written. */
  filter: string | undefined;
  /** The path in canonical form, for scim-patch. */
  canonical: string;
}

const startsWithCi = (s: string, prefix: string) => s.length > prefix.length && s.slice(0, prefix.length + 1).toLowerCase() === `${prefix.toLowerCase()}:`;

const SEGMENTS = /^([A-Za-z$][\w$-]*)(?:\[(.*)\])?(?:\.([A-Za-z$][\w$-]*))?$/s;

/** Resolves a path, with an optional `[filter]` after the attribute; null when it names nothing we support. */
export const resolvePatchPath = (resource: ResourceDef, path: string): ResolvedPatchPath | null => {
  const trimmed = path.trim();
  const wholeExt = resource.extensions.find((e) => e.id.toLowerCase() === trimmed.toLowerCase());
  if (wholeExt) return { keys: [wholeExt.id], def: undefined, top: undefined, extension: wholeExt.id, filter: undefined, canonical: wholeExt.id };
  let defs: readonly AttributeDef[] = [...COMMON_ATTRIBUTES, ...resource.attributes];
  let rest = trimmed;
  let extension: string | undefined;
  const ext = resource.extensions.find((e) => startsWithCi(trimmed, e.id));
  if (ext) {
    extension = ext.id;
    defs = ext.attributes;
    rest = trimmed.slice(ext.id.length + 1);
  } else if (startsWithCi(trimmed, resource.schema)) {
    rest = trimmed.slice(resource.schema.length + 1);
  }
  const m = SEGMENTS.exec(rest);
  if (!m) return null;
  const [, attrName, filter, subName] = m;
  const top = findAttribute(defs, attrName!);
  if (!top) return null;
  if (filter !== undefined && !(top.multiValued && top.type === 'complex')) return null;
  let def = top;
  const keys = extension ? [extension, top.name] : [top.name];
  if (subName !== undefined) {
    const sub = findAttribute(top.subAttributes ?? [], subName);
    if (!sub) return null;
    def = sub;
    keys.push(sub.name);
  }
  const canonical = `${extension ? `${extension}:` : ''}${top.name}${filter !== undefined ? `[${filter}]` : ''}${subName !== undefined ? `.${def.name}` : ''}`;
  return { keys, def, top, extension, filter, canonical };
};

/** Resolves a path without a filter (attributes, excludedAttributes, filter attribute names). */
export const resolveAttributePath = (resource: ResourceDef, path: string): ResolvedPath | null => {
  const r = resolvePatchPath(resource, path);
  return r && r.filter === undefined ? r : null;
};
