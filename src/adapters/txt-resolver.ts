/** Fills the domain service's TxtResolver port with node's DNS resolver (ORGWAY_DNS_SERVERS, or the system's). */
import { promises as dns } from 'node:dns';
import type { TxtResolver } from '../domain/domains/domain-service.js';

/** "No such name" and "no TXT records" mean: not published (yet). */
const NOT_THERE = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

export const createTxtResolver = (servers: readonly string[]): TxtResolver => {
  const resolver = new dns.Resolver({ timeout: 3000, tries: 2 });
  if (servers.length) resolver.setServers([...servers]);
  return {
    async resolveTxt(name) {
      try {
        // A TXT record may be split into several strings; they are one value joined.
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
      } catch (error) {
        if (NOT_THERE.has((error as NodeJS.ErrnoException).code ?? '')) return [];
        throw error;
      }
    },
  };
};
