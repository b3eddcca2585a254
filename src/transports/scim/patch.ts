/**
 * PATCH (RFC 7644 §3.5.2): the message is checked, its operations normalised
 * (quirks.ts) and validated against the schema, then applied by scim-patch to the
 * resource's current SCIM representation. The result is validated like a PUT body
 * and handed to the domain, which turns the difference into changes, in the same
 * transaction that read the current representation.
 */
import { parse as parseFilter } from 'scim2-parse-filter';
import { type ScimPatchOperation, scimPatch, ScimError as ScimPatchError, type ScimResource } from 'scim-patch';
import { badRequest, ScimHttpError } from './errors.js';
import { resolvePatchPath } from './paths.js';
import { isPlainObject, normalizePatchOperations, type PatchOperation } from './quirks.js';
import { PATCH_OP_SCHEMA, type ResourceDef } from './schema.js';

/** Most operations in one PATCH. */
export const MAX_PATCH_OPERATIONS = 1000;

const OPS = new Set(['add', 'remove', 'replace']);

/** The operations of a PatchOp message, before normalisation. */
export const readPatchMessage = (body: unknown): PatchOperation[] => {
  if (!isPlainObject(body)) throw badRequest('invalidSyntax', 'A PATCH body is a JSON object: {"schemas": ["' + PATCH_OP_SCHEMA + '"], "Operations": [...]}.');
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase()))
    throw badRequest('invalidSyntax', `A PATCH body must list "${PATCH_OP_SCHEMA}" in "schemas".`);
  const unknownSchema = schemas.find((s) => typeof s !== 'string' || s.toLowerCase() !== PATCH_OP_SCHEMA.toLowerCase());
  if (unknownSchema !== undefined) throw badRequest('invalidSyntax', `A PATCH body lists only "${PATCH_OP_SCHEMA}" in "schemas" (got ${JSON.stringify(unknownSchema)}).`);
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const operations = key === undefined ? undefined : body[key];
  if (!Array.isArray(operations) || operations.length === 0) throw badRequest('invalidValue', 'A PATCH body needs "Operations": a non-empty array of {op, path, value}.');
  if (operations.length > MAX_PATCH_OPERATIONS) throw badRequest('tooMany', `At most ${MAX_PATCH_OPERATIONS} operations per PATCH (got ${operations.length}).`);
  return operations.map((o, i) => {
    if (!isPlainObject(o)) throw badRequest('invalidSyntax', `Operation ${i + 1} is not an object with op, path and value.`);
    const get = (name: string) => Object.entries(o).find(([k]) => k.toLowerCase() === name)?.[1];
    const op = get('op');
    if (typeof op !== 'string') throw badRequest('invalidSyntax', `Operation ${i + 1} has no "op"; use add, remove or replace.`);
    const path = get('path');
    if (path !== undefined && path !== null && typeof path !== 'string') throw badRequest('invalidPath', `Operation ${i + 1}: "path" must be a string.`);
    const hasValue = Object.keys(o).some((k) => k.toLowerCase() === 'value');
    return { op, ...(typeof path === 'string' ? { path } : {}), ...(hasValue ? { value: get('value') } : {}) };
  });
};

/** Normalises and validates the operations for one resource; throws invalidPath / noTarget / mutability / … */
export const preparePatch = (resource: ResourceDef, raw: readonly PatchOperation[], resourceId: string): ScimPatchOperation[] => {
  const ops = normalizePatchOperations(resource, raw, resourceId);
  return ops.map((o, i) => {
    const n = i + 1;
    if (!OPS.has(o.op)) throw badRequest('invalidSyntax', `Operation ${n}: "${o.op}" is not a PATCH operation; use add, remove or replace.`);
    if (o.op === 'remove' && o.path === undefined) throw badRequest('noTarget', `Operation ${n}: remove needs a "path" naming what to remove.`);
    if (o.op !== 'remove' && !('value' in o)) throw badRequest('invalidValue', `Operation ${n}: ${o.op} needs a "value".`);
    if (o.path === undefined) {
      // Left without a path after normalisation: the value was not an object of attributes.
      throw badRequest('invalidValue', `Operation ${n}: without "path", "value" must be an object of attributes, e.g. {"active": false}.`);
    }
    const path = resolvePatchPath(resource, o.path);
    if (!path)
      throw badRequest('invalidPath', `Operation ${n}: the path "${o.path}" names no attribute of the ${resource.name} schema this server supports (see /Schemas).`);
    if (path.filter !== undefined) {
      try {
        parseFilter(path.filter);
      } catch (error) {
        throw badRequest('invalidFilter', `Operation ${n}: the value filter in "${o.path}" does not parse: ${(error as Error).message}`);
      }
    }
    if (path.def?.mutability === 'readOnly' || path.top?.mutability === 'readOnly')
      throw badRequest('mutability', `Operation ${n}: "${path.canonical}" is read-only.`);
    if (path.def?.required && o.op === 'remove') throw badRequest('mutability', `Operation ${n}: "${path.canonical}" is required and cannot be removed.`);
    return { ...o, path: path.canonical } as ScimPatchOperation;
  });
};

/** Applies validated operations to a copy of `doc` with scim-patch. */
export const applyPatch = <T extends Record<string, unknown>>(doc: T, ops: ScimPatchOperation[]): T => {
  try {
    return scimPatch(doc as unknown as ScimResource, ops, { mutateDocument: false, treatMissingAsAdd: true }) as unknown as T;
  } catch (error) {
    if (error instanceof ScimHttpError) throw error;
    if (error instanceof ScimPatchError) {
      const type = error.scimCode === 'noTarget' ? 'noTarget' : error.scimCode === 'invalidPath' ? 'invalidPath' : 'invalidValue';
      throw badRequest(type, error.message);
    }
    throw badRequest('invalidValue', `The operations cannot be applied: ${(error as Error).message}`);
  }
};
