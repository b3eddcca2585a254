/**
 * Rate limits shared by all instances (SPEC §8), on rate-limiter-flexible's PostgreSQL store
 * (table `rate_limits`, created by Migration0005Limits; the embedded database, one process,
 * counts in memory).
 *
 * Two kinds of key, two costs:
 * - a client address, for requests that are unauthenticated or fail to authenticate: one
 *   upsert per such request (they already cost a credential lookup). Once an address is
 *   over its limit it is refused from memory for the rest of the window, with no database
 *   work at all (`inMemoryBlockOnConsumed`);
 * - a valid credential (session, API token, SCIM token), the hot path: each instance counts
 *   locally and adds its count to the shared one every `syncMs` (one upsert per credential
 *   per interval, whatever the request rate). A request is refused when the last shared
 *   count plus this instance's unsent count reaches the limit. Cost: between two syncs every
 *   other instance's traffic is unknown here, so N instances may together admit up to
 *   N × rate × syncMs more than the limit before each of them refuses. The same request also
 *   counts against the credential's owner (the user behind a session, an API token or the SCIM
 *   tokens they created; the organization for a SCIM token made without a user), with its own,
 *   higher limit: credentials are cheap to mint, so without it every new token would bring a
 *   full allowance of its own.
 *
 * Answers are "allowed" (null) or the seconds to wait (for Retry-After). If the database
 * cannot be reached the limits fall back to this instance's memory (insuranceLimiter)
 * rather than refusing everyone.
 */
import type { Pool } from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../config/config.js';
import { addressKey } from '../transports/shared/client-address.js';

export interface RateLimits {
  /** Seconds to wait when this address is refused from memory now (no database work); else null. */
  addressBlocked(address: string): number | null;
  /** Counts an unauthenticated or failed-authentication request; seconds to wait when over the limit. */
  countAddress(address: string): Promise<number | null>;
  /** Counts a request by a valid credential (its id) and against its owner (`user:<id>`, `org:<id>`); seconds to wait when over either limit. */
  countCredential(credentialId: string, ownerKey: string): number | null;
  /** Counts a request to the sign-in routes (/auth, /invitations) from this address; seconds to wait when over the limit. */
  countSignInAddress(address: string): Promise<number | null>;
  /** Counts a sign-in email asked for this email; seconds to wait when over the limit. */
  countSignInEmail(email: string): Promise<number | null>;
  /** Sends the unsent credential counts now (tests, shutdown). */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));


const store = (pool: (() => Promise<Pool>) | undefined, keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
  const memory = new RateLimiterMemory({ keyPrefix, points, duration });
  if (!pool) return memory;
  // The store speaks pg's query({ name, text, values }); the pool is MikroORM's own.
  const client = { query: async (q: { name?: string; text: string; values?: unknown[] }) => (await pool()).query(q) };
  return new RateLimiterPostgres({
    storeClient: client,
    storeType: 'client',
    tableName: 'rate_limits',
    tableCreated: true,
    keyPrefix,
    points,
    duration,
    // Over the limit: refused from memory until the window ends, no more upserts.
    inMemoryBlockOnConsumed: points,
    inMemoryBlockDuration: duration,
    insuranceLimiter: memory,
  });
};

/** Consumes one point; null when allowed, else the seconds to wait. A store that cannot answer allows (and reports). */
const consumeOne = async (limiter: RateLimiterAbstract, key: string, onError: (error: unknown) => void): Promise<number | null> => {
  try {
    await limiter.consume(key);
    return null;
  } catch (error) {
    if (error instanceof RateLimiterRes) return seconds(Math.max(1000, error.msBeforeNext));
    onError(error);
    return null;
  }
};

/** Sign-in routes: requests per address per minute, emails per address per 10 minutes. */
export interface SignInRateLimitConfig {
  perAddressPerMinute: number;
  emailsPerTenMinutes: number;
}

export const createRateLimits = (
  config: RateLimitConfig,
  signIn: SignInRateLimitConfig,
  pool: (() => Promise<Pool>) | undefined,
  onError: (error: unknown) => void,
): RateLimits => {
  const { addressPoints, credentialPoints, ownerPoints, windowSeconds, syncMs } = config;
  const signInAddresses = store(pool, 'auth-addr', signIn.perAddressPerMinute, 60);
  const signInEmails = store(pool, 'auth-email', signIn.emailsPerTenMinutes, 600);
  const windowMs = windowSeconds * 1000;
  const addresses = addressPoints > 0 ? store(pool, 'addr', addressPoints, windowSeconds) : null;
  // Credentials are synced in batches with penalty(), never refused by the store itself.
  const credentials = credentialPoints > 0 || ownerPoints > 0 ? store(pool, 'cred', Number.MAX_SAFE_INTEGER, windowSeconds) : null;

  /** Per address: refused from memory until this time (ms). */
  const blockedUntil = new Map<string, number>();
  /** Per credential and per owner: the shared count last seen, when its window ends, and this instance's unsent count. */
  const seen = new Map<string, { shared: number; resetAt: number; unsent: number }>();
  let syncing: Promise<void> | null = null;
  /** The counter of a credential or an owner, started afresh when its window has ended. */
  const seenCounter = (key: string, now: number) => {
    let s = seen.get(key);
    if (!s) seen.set(key, (s = { shared: 0, resetAt: now + windowMs, unsent: 0 }));
    if (s.resetAt <= now) {
      s.shared = 0;
      s.resetAt = now + windowMs;
    }
    return s;
  };

  const sync = async (): Promise<void> => {
    if (!credentials) return;
    const batch = [...seen].filter(([, s]) => s.unsent > 0);
    const now = Date.now();
    for (const [key, s] of seen) if (s.unsent === 0 && s.resetAt <= now) seen.delete(key);
    await Promise.all(
      batch.map(async ([key, s]) => {
        const n = s.unsent;
        s.unsent = 0;
        try {
          const r = await credentials.penalty(key, n);
          s.shared = r.consumedPoints;
          s.resetAt = Date.now() + Math.max(0, r.msBeforeNext);
        } catch (error) {
          s.unsent += n;
          onError(error);
        }
      }),
    );
  };
  const timer = credentials ? setInterval(() => void (syncing ??= sync().finally(() => (syncing = null))), syncMs) : undefined;
  timer?.unref();

  return {
    addressBlocked(rawAddress) {
      const address = addressKey(rawAddress);
      const until = blockedUntil.get(address);
      if (until === undefined) return null;
      const left = until - Date.now();
      if (left > 0) return seconds(left);
      blockedUntil.delete(address);
      return null;
    },
    async countAddress(rawAddress) {
      if (!addresses) return null;
      const address = addressKey(rawAddress);
      try {
        await addresses.consume(address);
        return null;
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) {
          onError(error);
          return null;
        }
        const wait = Math.max(1000, error.msBeforeNext);
        blockedUntil.set(address, Date.now() + wait);
        if (blockedUntil.size > 100_000) blockedUntil.delete(blockedUntil.keys().next().value!);
        return seconds(wait);
      }
    },
    countCredential(credentialId, ownerKey) {
      if (!credentials) return null;
      const now = Date.now();
      // A limit set to 0 keeps no counter (nothing to sync for it).
      const counter = credentialPoints > 0 ? seenCounter(credentialId, now) : null;
      const owner = ownerPoints > 0 ? seenCounter(ownerKey, now) : null;
      if (counter && counter.shared + counter.unsent >= credentialPoints) return seconds(counter.resetAt - now);
      if (owner && owner.shared + owner.unsent >= ownerPoints) return seconds(owner.resetAt - now);
      if (counter) counter.unsent += 1;
      if (owner) owner.unsent += 1;
      return null;
    },
    countSignInAddress: (address) => consumeOne(signInAddresses, addressKey(address), onError),
    countSignInEmail: (email) => consumeOne(signInEmails, email, onError),
    sync: () => (syncing ??= sync().finally(() => (syncing = null))),
    async stop() {
      if (timer) clearInterval(timer);
      await syncing;
    },
  };
};
