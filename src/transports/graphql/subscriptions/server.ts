/**
 * graphql-ws over @fastify/websocket, built for many idle connections. It stands in for
 * graphql-ws's own adapter (graphql-ws/use/@fastify/websocket) with the same protocol
 * behaviour, but keeps less per connection, because idle subscribers are what an
 * instance holds most of:
 *
 * - one object per connection (the socket graphql-ws talks to and the `extra` its
 *   hooks see); listeners are shared functions, not closures per socket;
 * - keep-alive: one timer for all connections, pinging each every `keepAliveMs` and
 *   terminating it when the previous ping got no pong (the adapter used two timers
 *   and a listener per socket);
 * - the upgrade request is let go once connection_init is handled: Fastify's request
 *   and reply, the IncomingMessage with its headers, the ServerResponse @fastify/websocket
 *   made for routing, and the buffer holding the handshake, none of which an open
 *   subscription needs.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { CloseCode, DEPRECATED_GRAPHQL_WS_PROTOCOL, handleProtocols, type Server } from 'graphql-ws';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { GraphQLContext } from '../context.js';

/** What graphql-ws's hooks get as `ctx.extra`. */
export type ConnectionExtra = {
  readonly socket: WebSocket;
  /** The upgrade request, until connection_init has been handled (authentication reads its headers). */
  request: FastifyRequest | undefined;
  graphqlContext: GraphQLContext | undefined;
  /** The session this connection authenticated with (null before connection_init). */
  sessionId: string | null;
  /** What onNext returns for a result: a stand-in that send() replaces by the result's JSON, serialised once per result. */
  payloadStandIn(result: object): PayloadStandIn;
};

const OPEN = 1;
/** Sends do not wait for the socket while it holds less than this unsent. */
const UNAWAITED_SEND_BYTES = 64 * 1024;
/** Keep-alive work is spread over this many ticks per interval, so pings do not all go out at once. */
const SLOTS = 12;

const closeReason = (reason: string, whenTooLong: string) => (Buffer.byteLength(reason) < 124 ? reason : whenTooLong);

/**
 * graphql-ws awaits each send before it takes a subscription's next result, which is the
 * backpressure that lets a slow client's events wait in the event stream (bounded) rather
 * than in the socket. While little is buffered a send does not wait for the write to
 * finish: a promise and a write callback per message were a tenth of a fan-out's CPU.
 */
export const sendMessage = (socket: Pick<WebSocket, 'readyState' | 'bufferedAmount' | 'send'>, data: string): Promise<void> | void => {
  if (socket.readyState !== OPEN) return;
  if (socket.bufferedAmount < UNAWAITED_SEND_BYTES) return void socket.send(data);
  return new Promise((resolve, reject) => socket.send(data, (err?: Error) => (err ? reject(err) : resolve())));
};

/**
 * A result shared by many subscribers (register.ts) is serialised once, not once per
 * subscriber: onNext hands graphql-ws a small stand-in `{"__orgwaySharedPayload":n}` as
 * the payload, and send() puts the result's JSON in its place, so the message is exactly
 * what graphql-ws would have written. Serialising per subscriber was a sixth of a fan-out.
 * (JSON.rawJSON cannot do this: it accepts only primitive JSON texts, not an object's.)
 */
const STAND_IN_KEY = '__orgwaySharedPayload';
export interface PayloadStandIn {
  readonly [STAND_IN_KEY]: number;
}
/** How the stand-in appears in graphql-ws's next message: `{"id":…,"type":"next","payload":{"__orgwaySharedPayload":n}}`. */
const NEXT_PAYLOAD = ',"type":"next","payload":';
const STAND_IN_MARK = `${NEXT_PAYLOAD}{"${STAND_IN_KEY}":`;
const serialised = new WeakMap<object, string>();
let standIns = 0;

/** One connection: the socket graphql-ws writes to, and its `extra`. */
class Connection implements ConnectionExtra {
  request: FastifyRequest | undefined;
  graphqlContext: GraphQLContext | undefined = undefined;
  sessionId: string | null = null;
  /** A pong (or the connection itself) came since the last ping. */
  alive = true;
  /** graphql-ws's message handler and close callback. */
  handler: ((data: string) => Promise<void>) | undefined = undefined;
  closed: ((code?: number, reason?: string) => Promise<void>) | undefined = undefined;
  /** JSON of the payloads whose stand-ins are on their way to send(), by stand-in number. */
  pendingPayloads: Map<number, string> | undefined = undefined;

  constructor(
    readonly socket: WebSocket,
    request: FastifyRequest,
    readonly slot: number,
  ) {
    this.request = request;
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  payloadStandIn(result: object): PayloadStandIn {
    let json = serialised.get(result);
    if (json === undefined) serialised.set(result, (json = JSON.stringify(result)));
    const n = (standIns = (standIns + 1) % Number.MAX_SAFE_INTEGER);
    (this.pendingPayloads ??= new Map()).set(n, json);
    return { [STAND_IN_KEY]: n };
  }

  send(data: string): Promise<void> | void {
    return sendMessage(this.socket, this.pendingPayloads?.size ? this.withPayload(data) : data);
  }

  /**
   * The message with its stand-in replaced by the payload's JSON. Only a next message whose
   * payload is exactly a stand-in matches (a result's JSON starts with `{"data"` or
   * `{"errors"`); a stand-in that is not pending is a bug, and sending it would hand the
   * client a wrong payload: it throws, and the connection closes with 1011.
   */
  private withPayload(data: string): string {
    const at = data.lastIndexOf(STAND_IN_MARK);
    if (at < 0 || !data.startsWith('{"id":') || !data.endsWith('}}')) return data;
    const n = data.slice(at + STAND_IN_MARK.length, -2);
    if (!/^\d{1,16}$/.test(n)) return data;
    const pending = this.pendingPayloads!;
    const json = pending.get(Number(n));
    if (json === undefined) throw new Error(`graphql-ws sent payload stand-in ${n}, which is not pending on this connection`);
    pending.delete(Number(n));
    // An idle connection keeps no empty map.
    if (pending.size === 0) this.pendingPayloads = undefined;
    return `${data.slice(0, at + NEXT_PAYLOAD.length)}${json}}`;
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  onMessage(cb: (data: string) => Promise<void>): void {
    this.handler = cb;
  }
}

export interface SubscriptionServer {
  /** The route's wsHandler. */
  handle(socket: WebSocket, request: FastifyRequest): void;
  /** Open connections (closed ones leave at once). */
  connections(): IterableIterator<ConnectionExtra>;
  /** Stops the keep-alive timer. */
  stop(): void;
}

export const createSubscriptionServer = (
  server: Server<ConnectionExtra>,
  websocketServer: WebSocketServer,
  log: FastifyBaseLogger,
  keepAliveMs = 12_000,
): SubscriptionServer => {
  const isProd = process.env.NODE_ENV === 'production';
  const internalError = (err: unknown) =>
    isProd ? 'Internal server error' : closeReason(err instanceof Error ? err.message : String(err), 'Internal server error');
  websocketServer.options.handleProtocols = handleProtocols;

  const connections = new Map<WebSocket, Connection>();
  let nextSlot = 0;

  // Shared listeners: ws calls them with the socket as `this`.
  function onMessage(this: WebSocket, data: RawData): void {
    const c = connections.get(this);
    c?.handler?.(String(data)).catch((err: unknown) => {
      log.error({ err }, 'internal error while handling a graphql-ws message');
      this.close(CloseCode.InternalServerError, internalError(err));
    });
  }
  function onPong(this: WebSocket): void {
    const c = connections.get(this);
    if (c) c.alive = true;
  }
  function onError(this: WebSocket, err: Error): void {
    // ws has already begun closing with the fitting code (1002, 1009, …); end the socket.
    log.error({ err }, 'WebSocket error');
    this.terminate();
  }
  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    const c = connections.get(this);
    if (!c) return;
    connections.delete(this);
    if (!isProd && code === CloseCode.SubprotocolNotAcceptable && this.protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL)
      log.warn(`Client provided the unsupported and deprecated subprotocol "${this.protocol}" used by subscriptions-transport-ws.`);
    c.closed?.(code, String(reason)).catch((err: unknown) => log.error({ err }, 'closing a graphql-ws connection failed'));
  }

  let tick = 0;
  const keepAlive = setInterval(() => {
    tick = (tick + 1) % SLOTS;
    for (const c of connections.values()) {
      if (c.slot !== tick || c.socket.readyState !== OPEN) continue;
      if (!c.alive) {
        c.socket.terminate();
        continue;
      }
      c.alive = false;
      c.socket.ping();
    }
  }, keepAliveMs / SLOTS);
  keepAlive.unref();

  return {
    handle(socket, request) {
      // @fastify/websocket's error listener closes over Fastify's request and reply for
      // the socket's whole life; ours does the same (log, terminate) without them.
      socket.removeAllListeners('error');
      socket.on('error', onError);
      // The ServerResponse @fastify/websocket assigned to the upgraded socket for routing
      // stays attached (and with it the reply, the request and the handshake buffer) unless detached.
      const netSocket = request.raw.socket as (typeof request.raw.socket & { _httpMessage?: { detachSocket?(s: unknown): void } | null }) | null;
      netSocket?._httpMessage?.detachSocket?.(netSocket);

      const c = new Connection(socket, request, (nextSlot = (nextSlot + 1) % SLOTS));
      connections.set(socket, c);
      socket.on('message', onMessage);
      socket.on('pong', onPong);
      socket.on('close', onClose);
      c.closed = server.opened(c, c);
    },
    connections: () => connections.values(),
    stop: () => clearInterval(keepAlive),
  };
};
