/**
 * How the graphql-ws adapter sends: without waiting while the socket holds little, and
 * waiting for the write (graphql-ws's backpressure) once a client stops reading.
 * Real sockets: a ws server and client on 127.0.0.1, the client's TCP socket paused.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { sendMessage } from '../../src/transports/graphql/subscriptions/server.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

const pair = async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  open.push(server);
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  open.push(client);
  await once(client, 'open');
  const [socket] = await accepted;
  return { socket, client };
};

test('a send to a reading client does not wait, and arrives', async () => {
  const { socket, client } = await pair();
  const received = once(client, 'message');
  expect(sendMessage(socket, '{"id":"1","type":"next","payload":{"data":{}}}')).toBeUndefined();
  expect(String((await received)[0])).toBe('{"id":"1","type":"next","payload":{"data":{}}}');
});

test('once a client stops reading and the socket holds 64 KiB, a send waits until the data is written', async () => {
  const { socket, client } = await pair();
  (client as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  const chunk = 'x'.repeat(256 * 1024);
  let waiting: Promise<void> | void = undefined;
  // The kernel's buffers take the first megabytes; then the socket's own buffer grows.
  for (let i = 0; i < 400 && !waiting; i++) {
    waiting = sendMessage(socket, chunk);
    if (!waiting) await new Promise((r) => setImmediate(r));
  }
  expect(waiting).toBeInstanceOf(Promise);
  expect(socket.bufferedAmount).toBeGreaterThanOrEqual(64 * 1024);
  let settled = false;
  void waiting!.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 50));
  expect(settled).toBe(false);
  client.on('message', () => undefined);
  (client as unknown as { _socket: { resume(): void } })._socket.resume();
  await waiting;
  expect(settled).toBe(true);
});

test('a send on a closed socket sends nothing and does not throw', async () => {
  const { socket, client } = await pair();
  const closed = once(socket, 'close');
  client.close();
  await closed;
  expect(sendMessage(socket, 'late')).toBeUndefined();
});
