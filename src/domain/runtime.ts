/** Small ports the composition root fills: time and id generation (replaceable in tests). */
import { randomBytes } from 'node:crypto';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/**
 * Time-ordered ids: 10 chars of millisecond time + 12 random chars (Crockford base32),
 * so ids sort by creation, which keyset pagination relies on.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const newId = (prefix: string): string => {
  let time = Date.now();
  let t = '';
  for (let i = 0; i < 10; i++) {
    t = ALPHABET[time % 32] + t;
    time = Math.floor(time / 32);
  }
  const bytes = randomBytes(12);
  let r = '';
  for (const b of bytes) r += ALPHABET[b % 32];
  return `${prefix}_${t}${r}`;
};

/** A bearer secret with 256 bits of entropy, base64url. */
export const newSecret = (prefix: string): string => `${prefix}_${randomBytes(32).toString('base64url')}`;
