/**
 * SCIM JSON ⇄ the domain's inputs and views, for Users and Groups.
 * Parsing validates against schema.ts after quirks.ts has normalised the body:
 * unknown attributes are `invalidSyntax`, values of the wrong type `invalidValue`,
 * read-only attributes are ignored (RFC 7643 §7).
 */
import type { ScimEmail, ScimGroupInput, ScimGroupView, ScimUserInput, ScimUserView } from '../../domain/scim/types.js';
import { badRequest } from './errors.js';
import { isPlainObject, normalizeResourceBody } from './quirks.js';
import {
  type AttributeDef,
  COMMON_ATTRIBUTES,
  ENTERPRISE_USER_SCHEMA,
  findAttribute,
  GROUP_RESOURCE,
  GROUP_SCHEMA,
  type ResourceDef,
  supportedAttributeNames,
  USER_ATTRIBUTES,
  USER_RESOURCE,
  USER_SCHEMA,
} from './schema.js';

/** Longest string value accepted, and the most JSON one User may keep for an organization. */
export const MAX_STRING_LENGTH = 2048;
export const MAX_USER_ATTRIBUTES_BYTES = 64 * 1024;

export type Json = Record<string, unknown>;

// ---------- parsing ----------

const checkValue = (def: AttributeDef, value: unknown, where: string): unknown => {
  if (value === null || value === undefined) return undefined;
  if (def.multiValued) {
    if (!Array.isArray(value)) throw badRequest('invalidValue', `${where} is multi-valued: send an array.`);
    const items = value.map((v, i) => checkSingle(def, v, `${where}[${i}]`)).filter((v) => v !== undefined);
    return items.length ? items : undefined;
  }
  return checkSingle(def, value, where);
};

const checkSingle = (def: AttributeDef, value: unknown, where: string): unknown => {
  if (value === null || value === undefined) return undefined;
  switch (def.type) {
    case 'string':
    case 'reference':
      if (typeof value !== 'string') throw badRequest('invalidValue', `${where} must be a string (got ${JSON.stringify(value)?.slice(0, 40)}).`);
      if (value.length > MAX_STRING_LENGTH) throw badRequest('invalidValue', `${where} must be at most ${MAX_STRING_LENGTH} characters.`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw badRequest('invalidValue', `${where} must be true or false (got ${JSON.stringify(value)?.slice(0, 40)}).`);
      return value;
    case 'complex': {
      if (!isPlainObject(value)) throw badRequest('invalidValue', `${where} must be an object of ${(def.subAttributes ?? []).map((a) => a.name).join(', ')}.`);
      const out: Json = {};
      for (const [k, v] of Object.entries(value)) {
        const sub = findAttribute(def.subAttributes ?? [], k);
        if (!sub) throw badRequest('invalidSyntax', `${where}.${k} is not supported; ${def.name} has ${(def.subAttributes ?? []).map((a) => a.name).join(', ')}.`);
        if (sub.mutability === 'readOnly') continue;
        const checked = checkValue(sub, v, `${where}.${sub.name}`);
        if (checked !== undefined) out[sub.name] = checked;
      }
      return Object.keys(out).length ? out : undefined;
    }
  }
};

const checkSchemas = (resource: ResourceDef, schemas: unknown): string[] => {
  const allowed = [resource.schema, ...resource.extensions.map((e) => e.id)];
  if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string'))
    throw badRequest('invalidSyntax', `"schemas" is required: a list with "${resource.schema}".`);
  const canonical = schemas.map((s: string) => allowed.find((a) => a.toLowerCase() === s.toLowerCase()) ?? s);
  const unknown = canonical.filter((s) => !allowed.includes(s));
  if (unknown.length)
    throw badRequest('invalidSyntax', `Unsupported schema ${unknown.map((u) => `"${u}"`).join(', ')} on a ${resource.name}; this server supports ${allowed.join(' and ')}.`);
  if (!canonical.includes(resource.schema)) throw badRequest('invalidSyntax', `A ${resource.name} must list "${resource.schema}" in "schemas".`);
  return canonical;
};

/** Validated attributes of a body, by canonical name (extensions by URN). Read-only ones are left out. */
const readAttributes = (resource: ResourceDef, raw: unknown): { schemas: string[]; values: Json } => {
  if (!isPlainObject(raw)) throw badRequest('invalidSyntax', `A ${resource.name} is a JSON object.`);
  const body = normalizeResourceBody(resource, raw);
  const schemas = checkSchemas(resource, body.schemas);
  const values: Json = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === 'schemas') continue;
    const ext = resource.extensions.find((e) => e.id === key);
    if (ext) {
      // Extension attributes count even when a client (or a PATCH) left the URN out of "schemas".
      const checked = checkValue({ name: ext.id, type: 'complex', subAttributes: ext.attributes } as AttributeDef, value, ext.id);
      if (checked !== undefined) values[ext.id] = checked;
      continue;
    }
    const def = findAttribute(COMMON_ATTRIBUTES, key) ?? findAttribute(resource.attributes, key);
    if (!def) throw badRequest('invalidSyntax', `"${key}" is not an attribute of the ${resource.name} schema this server supports (${supportedAttributeNames(resource)}).`);
    if (def.mutability === 'readOnly') continue;
    const checked = checkValue(def, value, def.name);
    if (checked !== undefined) values[def.name] = checked;
  }
  return { schemas, values };
};

const PER_ORGANIZATION_USER_ATTRIBUTES = USER_ATTRIBUTES.filter((a) => a.mutability !== 'readOnly' && !['userName', 'displayName', 'active', 'emails'].includes(a.name)).map(
  (a) => a.name,
);

export const parseUser = (raw: unknown): ScimUserInput => {
  const { values } = readAttributes(USER_RESOURCE, raw);
  if (typeof values.userName !== 'string' || !values.userName.trim()) throw badRequest('invalidValue', 'userName is required.');
  const emails = (values.emails as ScimEmail[] | undefined) ?? [];
  for (const [i, e] of emails.entries()) if (typeof e.value !== 'string' || !e.value.trim()) throw badRequest('invalidValue', `emails[${i}].value is required.`);
  if (emails.filter((e) => e.primary === true).length > 1) throw badRequest('invalidValue', 'At most one of "emails" may be primary.');
  const attributes: Json = {};
  for (const name of PER_ORGANIZATION_USER_ATTRIBUTES) if (values[name] !== undefined) attributes[name] = values[name];
  if (values[ENTERPRISE_USER_SCHEMA] !== undefined) attributes[ENTERPRISE_USER_SCHEMA] = values[ENTERPRISE_USER_SCHEMA];
  if (Buffer.byteLength(JSON.stringify(attributes)) + Buffer.byteLength(JSON.stringify(emails)) > MAX_USER_ATTRIBUTES_BYTES)
    throw badRequest('invalidValue', `The User's attributes take more than ${MAX_USER_ATTRIBUTES_BYTES / 1024} KiB.`);
  return {
    userName: values.userName,
    externalId: (values.externalId as string | undefined) ?? null,
    active: values.active as boolean | undefined,
    displayName: values.displayName as string | undefined,
    emails,
    attributes,
  };
};

/**
 * `absentMembers`: what a body without `members` means — `keep` for PUT (not asserted,
 * RFC 7644 §3.5.1), `none` for the result of a PATCH (the operations removed them all).
 */
export const parseGroup = (raw: unknown, absentMembers: 'keep' | 'none' = 'keep'): ScimGroupInput => {
  const { values } = readAttributes(GROUP_RESOURCE, raw);
  if (typeof values.displayName !== 'string' || !values.displayName.trim()) throw badRequest('invalidValue', 'displayName is required.');
  let members: string[] | undefined = absentMembers === 'none' ? [] : undefined;
  if (raw && typeof raw === 'object' && Object.keys(raw).some((k) => k.toLowerCase() === 'members')) {
    members = [];
    for (const [i, m] of ((values.members as Json[] | undefined) ?? []).entries()) {
      if (typeof m.type === 'string' && m.type !== 'User') throw badRequest('invalidValue', `members[${i}]: only Users can be members (nested groups are not supported).`);
      if (typeof m.value !== 'string' || !m.value) throw badRequest('invalidValue', `members[${i}].value must be the id of a User.`);
      members.push(m.value);
    }
  }
  return { displayName: values.displayName, externalId: (values.externalId as string | undefined) ?? null, members };
};

// ---------- rendering ----------

const iso = (d: Date) => d.toISOString();

const USER_ORDER = USER_ATTRIBUTES.map((a) => a.name);

export const renderUser = (v: ScimUserView, baseUrl: string): Json => {
  const out: Json = {
    schemas: v.attributes[ENTERPRISE_USER_SCHEMA] ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA] : [USER_SCHEMA],
    id: v.id,
  };
  if (v.externalId !== null) out.externalId = v.externalId;
  for (const name of USER_ORDER) {
    switch (name) {
      case 'userName':
        out.userName = v.userName;
        break;
      case 'displayName':
        if (v.displayName !== null) out.displayName = v.displayName;
        break;
      case 'active':
        out.active = v.status !== 'DISABLED';
        break;
      case 'emails':
        out.emails = v.emails;
        break;
      case 'groups':
        if (v.groups.length) out.groups = v.groups.map((g) => ({ value: g.id, $ref: `${baseUrl}/Groups/${g.id}`, display: g.name, type: 'direct' }));
        break;
      default:
        if (v.attributes[name] !== undefined) out[name] = v.attributes[name];
    }
  }
  if (v.attributes[ENTERPRISE_USER_SCHEMA] !== undefined) out[ENTERPRISE_USER_SCHEMA] = v.attributes[ENTERPRISE_USER_SCHEMA];
  out.meta = { resourceType: 'User', created: iso(v.createdAt), lastModified: iso(v.updatedAt), location: `${baseUrl}/Users/${v.id}` };
  return out;
};

export const renderGroup = (v: ScimGroupView, baseUrl: string): Json => {
  const out: Json = { schemas: [GROUP_SCHEMA], id: v.id };
  if (v.externalId !== null) out.externalId = v.externalId;
  out.displayName = v.displayName;
  if (v.members !== undefined) out.members = v.members.map((m) => ({ value: m.userId, $ref: `${baseUrl}/Users/${m.userId}`, display: m.display, type: 'User' }));
  out.meta = { resourceType: 'Group', created: iso(v.createdAt), lastModified: iso(v.updatedAt), location: `${baseUrl}/Groups/${v.id}` };
  return out;
};

/** The representation PATCH operations apply to: members as bare `{value}` (what clients send back). */
export const groupPatchDocument = (v: ScimGroupView, baseUrl: string): Json => ({
  ...renderGroup({ ...v, members: undefined }, baseUrl),
  members: (v.members ?? []).map((m) => ({ value: m.userId })),
});
