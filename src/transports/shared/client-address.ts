/** Client addresses as the limits count them (rate limits, the SAML slow lane). */
import { isIP } from 'node:net';

/**
 * The key of a client address: an IPv6 client is its /64 (one subscriber holds the whole
 * prefix, so counting single addresses would let it rotate without limit); IPv4, and IPv4
 * mapped into IPv6, is the IPv4 address.
 */
export const addressKey = (address: string): string => {
  if (isIP(address) !== 6) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
};
