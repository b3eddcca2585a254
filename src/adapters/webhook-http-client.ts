/**
 * The webhook dispatcher's HTTP client (the domain's WebhookHttp port), with the SSRF rule of
 * SPEC §10: `https` only, and no loopback, private, link-local or otherwise non-public address,
 * unless `allowPrivate` (ORGWAY_WEBHOOK_ALLOW_PRIVATE=true, development and tests).
 *
 * The address is checked when the socket connects, not only when the URL is saved: the agents
 * resolve names through `guardedLookup`, which drops non-public answers, so a name that
 * resolves to a public address at creation and to 127.0.0.1 later (DNS rebinding) still
 * cannot reach an internal service. IP literals skip DNS, so they are checked before the
 * request. Redirects are not followed (a 3xx is a failed attempt); at most `maxResponseBytes`
 * of a response are read; every request has an overall deadline.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import type { WebhookHttp } from '../domain/webhooks/types.js';

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface WebhookHttpOptions {
  allowPrivate: boolean;
  /** Deadline of one request, connect to last byte read. */
  timeoutMs: number;
  /** Response bytes read at most; the rest is discarded with the connection. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Name resolution (default: the system resolver, all addresses). */
  resolve?: Resolver;
}

const systemResolve: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

// Non-public ranges: this network, private, shared (CGNAT), loopback, link-local, IETF
// protocol assignments, documentation, benchmarking, multicast, reserved, broadcast (RFC 6890).
const blocked = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(prefix, bits, 'ipv4');
// Apart from the IPv4 list: a BlockList also matches IPv4 addresses against IPv6 rules (as ::ffff:a.b.c.d, inside ::/8).
const blocked6 = new net.BlockList();
for (const [prefix, bits] of [
  // Reserved ::/8 holds IPv4-translated ::ffff:0:a.b.c.d (SIIT); mapped and compatible forms are judged by their IPv4 above.
  ['::', 8],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  blocked6.addSubnet(prefix, bits, 'ipv6');

/** The 8 groups of an IPv6 address (dotted IPv4 tails expanded). */
const ipv6Groups = (ip: string): number[] => {
  let s = ip.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    s = s.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g || '0', 16));
};

/** The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), if any. */
const embeddedIpv4 = (g: number[]): string | null => {
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(5) && g[5] === 0xffff) return v4(g[6]!, g[7]!); // ::ffff:a.b.c.d
  if (zeros(6) && (g[6] !== 0 || g[7]! > 1)) return v4(g[6]!, g[7]!); // ::a.b.c.d (deprecated)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(g[6]!, g[7]!); // 64:ff9b::/96
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!); // 6to4
  return null;
};

/** Whether an IP address is publicly routable (false for loopback, private, link-local, …; IPv4 inside IPv6 included). */
export const isPublicAddress = (ip: string): boolean => {
  const family = net.isIP(ip);
  if (family === 4) return !blocked.check(ip, 'ipv4');
  if (family !== 6) return false;
  const inner = embeddedIpv4(ipv6Groups(ip));
  if (inner !== null) return isPublicAddress(inner);
  return !blocked6.check(ip, 'ipv6');
};

/** Says that a name resolves to no public address, not which one: the refusal must not map private DNS for its reader. */
const refusal = (hostname: string): Error =>
  Object.assign(new Error(`${hostname} resolves only to loopback, private or link-local addresses; webhooks are only sent to public addresses`), {
    code: 'ERR_WEBHOOK_ADDRESS',
  });
const literalRefusal = (address: string): Error =>
  Object.assign(new Error(`${address} is a loopback, private or link-local address; webhooks are only sent to public addresses`), { code: 'ERR_WEBHOOK_ADDRESS' });

export const createWebhookHttpClient = (options: WebhookHttpOptions): WebhookHttp & { close(): void } => {
  const resolve = options.resolve ?? systemResolve;
  const maxBytes = options.maxResponseBytes ?? 64 * 1024;

  /** Public addresses of a name (all of them when private ones are allowed); throws when there is none. */
  const addressesOf = async (hostname: string) => {
    const all = await resolve(hostname);
    if (options.allowPrivate) return all;
    const allowed = all.filter((a) => isPublicAddress(a.address));
    if (allowed.length === 0) throw refusal(hostname);
    return allowed;
  };

  // The connect-time check: every new socket of the agents resolves through here.
  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    addressesOf(hostname).then(
      (addresses) => {
        const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
        const usable = family ? addresses.filter((a) => a.family === family) : addresses;
        if (usable.length === 0) return callback(Object.assign(new Error(`${hostname} has no IPv${family} address`), { code: 'ENOTFOUND' }), '', 0);
        if (lookupOptions.all) return (callback as unknown as (e: null, a: typeof usable) => void)(null, usable);
        callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
  const agentOptions = { keepAlive: true, maxSockets: 4, lookup: guardedLookup };
  const httpsAgent = new https.Agent(agentOptions);
  const httpAgent = new http.Agent(agentOptions);

  const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

  return {
    async checkUrl(url) {
      if (url.protocol !== 'https:' && !(options.allowPrivate && url.protocol === 'http:'))
        return options.allowPrivate ? 'must be an http or https URL' : 'must be an https URL';
      const host = hostOf(url);
      if (options.allowPrivate) return null;
      if (net.isIP(host)) return isPublicAddress(host) ? null : `${host} is a loopback, private or link-local address`;
      try {
        await addressesOf(host);
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_WEBHOOK_ADDRESS') return (error as Error).message;
        // A name that does not resolve yet is accepted: deliveries fail (and retry) until it does.
      }
      return null;
    },

    post(target, headers, body) {
      const url = new URL(target);
      const host = hostOf(url);
      if (url.protocol !== 'https:' && !(options.allowPrivate && url.protocol === 'http:'))
        return Promise.reject(new Error(`${url.protocol} URLs are not allowed; use https`));
      if (net.isIP(host) && !options.allowPrivate && !isPublicAddress(host)) return Promise.reject(literalRefusal(host));
      const secure = url.protocol === 'https:';
      return new Promise((resolvePost, reject) => {
        const req = (secure ? https : http).request(url, {
          method: 'POST',
          agent: secure ? httpsAgent : httpAgent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'orgway-webhooks', ...headers },
        });
        const timer = setTimeout(() => req.destroy(new Error(`no complete response within ${options.timeoutMs} ms`)), options.timeoutMs);
        const fail = (error: Error) => {
          clearTimeout(timer);
          reject(error);
        };
        req.on('error', fail);
        req.on('response', (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            // Enough: the status is known and the body is only drained; drop the connection.
            if (read > maxBytes) {
              clearTimeout(timer);
              res.destroy();
              resolvePost({ status: res.statusCode ?? 0 });
            }
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolvePost({ status: res.statusCode ?? 0 });
          });
          res.on('error', fail);
        });
        req.end(body);
      });
    },

    close() {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
};
