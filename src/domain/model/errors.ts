/**
 * The one error type the domain throws. Each transport maps `code` once
 * (GraphQL `extensions.code`, SAML HTTP status, SCIM `status`/`scimType`, CLI exit code).
 * The message is for the caller and says what to fix; `details` are typed hints.
 */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'INVALID_TRANSITION',
  'NO_ACCESS',
  'INVALID_SAML',
  'INVALID_ATTRIBUTE',
  'UNKNOWN_ORGANIZATION',
  'UNKNOWN_TEAM',
  'SAML_REJECTED',
  /** The database cannot be reached or did not answer in time: retry later (HTTP 503, `Retry-After`). */
  'UNAVAILABLE',
  // Email sign-in and invitation links (SPEC §7; docs/sign-in.md).
  'INVALID_CODE',
  'CODE_EXPIRED',
  'CODE_USED',
  'TOO_MANY_ATTEMPTS',
  'INVALID_LINK',
  'INVITATION_USED',
  'INVITATION_REVOKED',
  'INVITATION_EXPIRED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorDetails {
  /** The input field the error is about, e.g. `email` or `input.defaultRole`. */
  field?: string;
  /** Allowed values, e.g. the statuses a membership may move to. */
  allowed?: readonly string[];
  [key: string]: unknown;
}

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

export const notFound = (what: string, id: string): DomainError =>
  new DomainError('NOT_FOUND', `${what} "${id}" was not found, or you cannot see it.`, { id });

export const badInput = (field: string, message: string, extra: ErrorDetails = {}): DomainError =>
  new DomainError('BAD_USER_INPUT', `${field}: ${message}`, { field, ...extra });
