/** Loopback ports for test servers, and database URLs pointed at a stand-in (proxy, pooler). */
import { createServer } from 'node:net';

/** A port that was free a moment ago (for a server whose URL must be known before it listens). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

/** `url` with its host and port replaced by 127.0.0.1:`port`. */
export const viaPort = (url: string, port: number): string => {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
};
