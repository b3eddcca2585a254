/**
 * Rate limits of the sign-in routes: per client address (every /auth and /invitations
 * request) and per email (codes sent). In memory, per instance (rate-limiter-flexible); the
 * limiter shared by all instances (SPEC §8) replaces this module without changing its callers.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface AuthRateLimits {
  /** Resolves null when allowed, else the seconds to wait. */
  address(ip: string): Promise<number | null>;
  email(email: string): Promise<number | null>;
}

const consume = async (limiter: RateLimiterMemory, key: string): Promise<number | null> => {
  try {
    await limiter.consume(key);
    return null;
  } catch (error) {
    if (error instanceof RateLimiterRes) return Math.max(1, Math.ceil(error.msBeforeNext / 1000));
    throw error;
  }
};

export const createAuthRateLimits = (options: { perAddressPerMinute: number; emailsPerTenMinutes: number }): AuthRateLimits => {
  const byAddress = new RateLimiterMemory({ keyPrefix: 'auth-address', points: options.perAddressPerMinute, duration: 60 });
  const byEmail = new RateLimiterMemory({ keyPrefix: 'auth-email', points: options.emailsPerTenMinutes, duration: 600 });
  return {
    address: (ip) => consume(byAddress, ip),
    email: (email) => consume(byEmail, email),
  };
};
