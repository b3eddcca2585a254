/** Paging shared by every list: `first` ≤ 100 and opaque cursors (base64url of the keyset position). */
import { badInput } from './errors.js';
import { isWellFormedText } from './text.js';
import type { Page } from './views.js';

export const MAX_PAGE_SIZE = 100;

export const checkFirst = (first: number): number => {
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE)
    throw badInput('first', `must be between 0 and ${MAX_PAGE_SIZE} (got ${first}).`);
  return first;
};

export const encodeCursor = (parts: string[]): string => Buffer.from(JSON.stringify(parts)).toString('base64url');

export const decodeCursor = (cursor: string, size: number): string[] => {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // Well-formed text only: PostgreSQL refuses NUL in text and jsonb.
    if (Array.isArray(parts) && parts.length === size && parts.every((p) => typeof p === 'string' && isWellFormedText(p))) return parts as string[];
  } catch {
    // fall through
  }
  throw badInput('after', 'is not a cursor this list returned; pass the `cursor` or `pageInfo.endCursor` of a previous page.');
};

export const pageOf = <T>(items: { cursor: string; node: T }[], totalCount: number, hasNextPage: boolean, hasPreviousPage: boolean): Page<T> => ({
  items,
  totalCount,
  hasNextPage,
  hasPreviousPage,
  startCursor: items[0]?.cursor ?? null,
  endCursor: items.at(-1)?.cursor ?? null,
});
