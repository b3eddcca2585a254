/**
 * Database unavailability: the errors a driver raises when PostgreSQL cannot be reached,
 * refuses connections, is shutting down, or did not answer in time. Such a request did
 * not complete and is worth retrying later, so it becomes one domain
 * error (`UNAVAILABLE`) that every transport answers with "retry later" (HTTP 503 and
 * `Retry-After`), never as an internal error.
 */
import { DomainError } from './model/index.js';

/** What clients are told to wait before retrying (the `Retry-After` header, in seconds). */
export const RETRY_AFTER_SECONDS = 5;

// Node socket errors, and PostgreSQL SQLSTATEs of class 08 (connection exception), 57P0x
// (shutdown, crash, starting up), 53300 (too many connections) and 57014 (statement_timeout).
const CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '57014',
]);

// Messages of pg and pg-pool that carry no code.
const MESSAGES =
  /^timeout expired$|Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Cannot use a pool after calling end|the database system is (starting up|shutting down|in recovery mode)|server closed the connection unexpectedly|query_wait_timeout|no more connections allowed|pgbouncer cannot connect to server|server login has been failing/i;

/** Is this error (or one it wraps) the database being unreachable or not answering in time? */
export const isDatabaseUnavailable = (error: unknown): boolean => {
  let e = error;
  for (let depth = 0; depth < 6 && e && typeof e === 'object'; depth++) {
    const x = e as { name?: unknown; code?: unknown; sqlState?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
    if (x.name === 'DatabaseTimeoutError') return true;
    if (typeof x.code === 'string' && CODES.has(x.code)) return true;
    if (typeof x.sqlState === 'string' && CODES.has(x.sqlState)) return true;
    if (typeof x.message === 'string' && MESSAGES.test(x.message)) return true;
    // AggregateError (a connect that tried several addresses).
    if (Array.isArray(x.errors) && x.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
    e = x.cause ?? x.originalError;
  }
  return false;
};

export const databaseUnavailable = (): DomainError =>
  new DomainError('UNAVAILABLE', `The database is unavailable, so this request could not be completed. Retry in ${RETRY_AFTER_SECONDS} seconds.`, {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });

/** The error as a transport should see it: unavailability as `UNAVAILABLE`, anything else unchanged. */
export const unavailableOr = (error: unknown): unknown => (isDatabaseUnavailable(error) ? databaseUnavailable() : error);
