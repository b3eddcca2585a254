/**
 * A TCP proxy between the gateway and PostgreSQL that a test can break:
 * `pause()` stops forwarding without closing anything (a hung network path: bytes are
 * held, new connections are accepted but not connected), `resume()` forwards again
 * (held bytes first), `stop()` closes the listener and every connection (connection
 * refused), `start()` listens again on the same port.
 */
import net from 'node:net';
import { viaPort } from './net.js';

export interface TcpProxy {
  readonly port: number;
  /** `url` with host and port replaced by the proxy's. */
  via(url: string): string;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Connections currently open through the proxy. */
  readonly connections: number;
}

interface Pipe {
  client: net.Socket;
  server: net.Socket | undefined;
  held: { toServer: Buffer[]; toClient: Buffer[] };
}

export const startTcpProxy = async (target: { host: string; port: number }): Promise<TcpProxy> => {
  let paused = false;
  const pipes = new Set<Pipe>();

  const connectUpstream = (p: Pipe) => {
    const server = net.connect(target.port, target.host);
    p.server = server;
    server.on('data', (chunk) => {
      if (paused) p.held.toClient.push(chunk);
      else p.client.write(chunk);
    });
    const end = () => close(p);
    server.on('error', end);
    server.on('close', end);
    for (const chunk of p.held.toServer.splice(0)) server.write(chunk);
  };
  const close = (p: Pipe) => {
    if (!pipes.delete(p)) return;
    p.client.destroy();
    p.server?.destroy();
  };

  const listener = net.createServer((client) => {
    const p: Pipe = { client, server: undefined, held: { toServer: [], toClient: [] } };
    pipes.add(p);
    client.on('data', (chunk) => {
      if (paused || !p.server) p.held.toServer.push(chunk);
      else p.server.write(chunk);
    });
    const end = () => close(p);
    client.on('error', end);
    client.on('close', end);
    if (!paused) connectUpstream(p);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, '127.0.0.1', () => {
        listener.off('error', reject);
        resolve((listener.address() as net.AddressInfo).port);
      });
    });
  const port = await listen(0);

  return {
    port,
    via: (url) => viaPort(url, port),
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const p of pipes) {
        if (!p.server) connectUpstream(p);
        else for (const chunk of p.held.toServer.splice(0)) p.server.write(chunk);
        for (const chunk of p.held.toClient.splice(0)) p.client.write(chunk);
      }
    },
    async stop() {
      paused = false;
      for (const p of [...pipes]) close(p);
      if (listener.listening) await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
    async start() {
      if (!listener.listening) await listen(port);
    },
    get connections() {
      return pipes.size;
    },
  };
};
