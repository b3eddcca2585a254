/**
 * SPEC §8 rate limits at the doors (the counting is src/app/rate-limits.ts). Every edge asks
 * the same two questions and answers a refusal in its own format, with `Retry-After`:
 * - before authenticating, and for a request without a valid credential: the client address
 *   (`request.ip`, which ORGWAY_TRUST_PROXY decides). An address over its limit is refused
 *   before its credential is even looked up;
 * - with a valid credential: that credential.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The counters an edge asks (src/app/rate-limits.ts implements them). */
export interface RequestRateLimits {
  addressBlocked(address: string): number | null;
  countAddress(address: string): Promise<number | null>;
  countCredential(credentialId: string, ownerKey: string): number | null;
}

/** What the hooks below need from the caller's services. */
export interface RateLimited {
  readonly rateLimits: RequestRateLimits;
}

export const RATE_LIMITED = 'RATE_LIMITED';

export const rateLimitMessage = (seconds: number): string => `Too many requests: retry after ${seconds} s.`;

/** Seconds to wait when the address is refused right now (from memory, no database work). */
export const addressBlocked = (services: RateLimited, address: string): number | null => services.rateLimits.addressBlocked(address);

/** Counts an unauthenticated or failed-authentication request of this address. */
export const countUnauthenticated = (services: RateLimited, address: string): Promise<number | null> => services.rateLimits.countAddress(address);

/** Counts a request made with a valid credential, against it and against its owner. */
export const countCredential = (services: RateLimited, credentialId: string, owner: { userId: string } | { organizationId: string }): number | null =>
  services.rateLimits.countCredential(credentialId, 'userId' in owner ? `user:${owner.userId}` : `org:${owner.organizationId}`);

/**
 * An onRequest/preHandler hook for routes that take no credential (the SAML ACS, and the
 * email sign-in routes): every request counts against the client address. `refuse` sends
 * the edge's own 429 body; Retry-After is already set.
 */
export const unauthenticatedRateLimit =
  (services: RateLimited, refuse: (request: FastifyRequest, reply: FastifyReply, seconds: number) => unknown) =>
  async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const wait = addressBlocked(services, request.ip) ?? (await countUnauthenticated(services, request.ip));
    if (wait === null) return undefined;
    reply.header('retry-after', String(wait));
    return refuse(request, reply, wait);
  };
