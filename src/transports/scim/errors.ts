/**
 * RFC 7644 §3.12 errors: `{ schemas: [Error], status: "400", scimType, detail }`.
 * Domain errors are mapped here, once; the transport's own refusals (bad JSON, bad
 * filter, bad path…) are ScimHttpErrors.
 */
import { type DomainError, isDomainError } from '../../domain/model/index.js';
import { unavailableOr } from '../../domain/unavailable.js';
import type { ScimErrorType } from '../../domain/scim/types.js';
import { ERROR_SCHEMA } from './schema.js';

export type { ScimErrorType };

export class ScimHttpError extends Error {
  override readonly name = 'ScimHttpError';
  constructor(
    readonly status: number,
    readonly scimType: ScimErrorType | null,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (scimType: ScimErrorType, message: string) => new ScimHttpError(400, scimType, message);

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  status: string;
  scimType?: ScimErrorType;
  detail: string;
}

export const errorBody = (status: number, scimType: ScimErrorType | null, detail: string): ScimErrorBody => ({
  schemas: [ERROR_SCHEMA],
  status: String(status),
  ...(scimType ? { scimType } : {}),
  detail,
});

const STATUS: Record<DomainError['code'], number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  INVALID_TRANSITION: 400,
  NO_ACCESS: 403,
  INVALID_SAML: 400,
  INVALID_ATTRIBUTE: 400,
  UNKNOWN_ORGANIZATION: 400,
  UNKNOWN_TEAM: 400,
  SAML_REJECTED: 401,
  UNAVAILABLE: 503,
  INVALID_CODE: 401,
  CODE_EXPIRED: 401,
  CODE_USED: 401,
  TOO_MANY_ATTEMPTS: 401,
  INVALID_LINK: 400,
  INVITATION_USED: 410,
  INVITATION_REVOKED: 410,
  INVITATION_EXPIRED: 410,
};

const SCIM_TYPES = new Set<string>(['invalidFilter', 'invalidSyntax', 'invalidPath', 'invalidValue', 'uniqueness', 'mutability', 'noTarget', 'tooMany']);

/** DomainError → HTTP status and scimType. */
export const fromDomainError = (error: DomainError): { status: number; scimType: ScimErrorType | null } => {
  const status = STATUS[error.code] ?? 400;
  const named = typeof error.details.scimType === 'string' && SCIM_TYPES.has(error.details.scimType) ? (error.details.scimType as ScimErrorType) : null;
  if (named) return { status, scimType: named };
  switch (error.code) {
    case 'BAD_USER_INPUT':
    case 'INVALID_TRANSITION':
      return { status, scimType: 'invalidValue' };
    case 'CONFLICT':
      // A unique index refused a concurrent insert (the runner names the constraint).
      return { status, scimType: error.details.constraint ? 'uniqueness' : null };
    default:
      return { status, scimType: null };
  }
};

/** Any error → status + body; `null` for errors that are ours (the caller logs them as 500). */
export const toScimError = (thrown: unknown): { status: number; body: ScimErrorBody } | null => {
  const error = unavailableOr(thrown);
  if (error instanceof ScimHttpError) return { status: error.status, body: errorBody(error.status, error.scimType, error.message) };
  if (isDomainError(error)) {
    const { status, scimType } = fromDomainError(error);
    return { status, body: errorBody(status, scimType, error.message) };
  }
  const fastify = error as { code?: string; statusCode?: number; message?: string };
  switch (fastify?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: errorBody(413, null, `The request body is larger than the SCIM limit (${fastify.message ?? ''}); send fewer members or operations per request.`) };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: errorBody(415, null, 'Send bodies as application/scim+json (or application/json).') };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: errorBody(400, 'invalidSyntax', 'The request body is empty or its length is wrong; send a JSON object.') };
  }
  if (typeof fastify?.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500)
    return { status: fastify.statusCode, body: errorBody(fastify.statusCode, null, fastify.message ?? 'Bad request.') };
  return null;
};
