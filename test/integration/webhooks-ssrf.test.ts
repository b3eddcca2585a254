/**
 * The SSRF rule of SPEC §10: https only and public addresses only, checked when an endpoint is
 * saved and again when the socket connects (DNS rebinding), unless ORGWAY_WEBHOOK_ALLOW_PRIVATE.
 * Also: response bodies are read only up to a cap.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { createWebhookHttpClient, isPublicAddress, type Resolver } from '../../src/adapters/webhook-http-client.js';
import { rows } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { CREATE, waitFor } from '../kit/webhooks.js';
import { type Admin, ok, refused, STAGE, uniqueEmail } from '../kit/world.js';

/** A TCP server that counts connections and never answers. */
const tcpTrap = async () => {
  let connections = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    connections++;
    sockets.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
};

describe('isPublicAddress', () => {
  test.each([
    ['127.0.0.1', false],
    ['127.255.0.9', false],
    ['10.0.0.1', false],
    ['172.16.5.4', false],
    ['172.32.0.1', true],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['8.8.8.8', true],
    ['93.184.216.34', true],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd12:3456::1', false],
    ['fc00::1', false],
    ['ff02::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['0:0:0:0:0:ffff:7f00:0001', false],
    ['::127.0.0.1', false],
    ['64:ff9b::7f00:1', false],
    ['64:ff9b::808:808', true],
    ['2002:7f00:1::', false],
    ['2001:db8::1', false],
    ['2606:4700:4700::1111', true],
    // IPv4-translated (SIIT) and local-use NAT64 addresses reach IPv4 space behind a translator; ::/8 is reserved.
    ['::ffff:0:127.0.0.1', false],
    ['::ffff:0:a00:1', false],
    ['64:ff9b:1::a00:1', false],
    ['::1:0:0:0', false],
    ['not an ip', false],
  ])('%s → public: %s', (ip, expected) => {
    expect(isPublicAddress(ip)).toBe(expected);
  });
});

describe('creating endpoints without ORGWAY_WEBHOOK_ALLOW_PRIVATE', () => {
  let admin: Admin;
  let trap: Awaited<ReturnType<typeof tcpTrap>>;
  // rebind.test answers a public address until `rebound`, then 127.0.0.1; other names go to the system resolver.
  let rebound = false;
  const resolver: Resolver = async (hostname) => {
    if (hostname === 'rebind.test') return [{ address: rebound ? '127.0.0.1' : '93.184.216.34', family: 4 }];
    if (hostname === 'mixed.test') return [{ address: '10.0.0.7', family: 4 }, { address: '::1', family: 6 }];
    return lookup(hostname, { all: true });
  };
  const endpoints = () => rows(gw, 'select * from webhook_endpoints order by id');

  const gw = useGateway({ webhookResolver: resolver });
  beforeAll(async () => {
    admin = await gw.bootstrap();
    trap = await tcpTrap();
  });
  afterAll(async () => {
    await trap?.close();
  });

  test.each([
    ['http://example.com/hooks', /https/],
    ['https://127.0.0.1/hooks', /127\.0\.0\.1 is a loopback, private or link-local address/],
    ['https://[::1]/hooks', /::1/],
    ['https://[::ffff:127.0.0.1]/hooks', /loopback/],
    ['https://10.1.2.3/hooks', /10\.1\.2\.3/],
    ['https://192.168.0.10:8443/hooks', /192\.168\.0\.10/],
    ['https://169.254.169.254/latest/meta-data', /169\.254\.169\.254/],
    ['https://[fe80::1]/hooks', /fe80::1/],
    ['https://[fd00::1]/hooks', /fd00::1/],
    ['https://0.0.0.0/hooks', /0\.0\.0\.0/],
    ['https://2130706433/hooks', /127\.0\.0\.1/],
    ['https://[::ffff:0:7f00:1]/hooks', /loopback/],
    ['https://[64:ff9b:1::a9fe:a9fe]/hooks', /loopback/],
    ['https://localhost/hooks', /^input\.url: localhost resolves only to loopback, private or link-local addresses/],
    // The refusal does not say which address the name resolved to (no map of private DNS).
    ['https://mixed.test/hooks', /^input\.url: mixed\.test resolves only to loopback, private or link-local addresses; webhooks are only sent to public addresses/],
  ])('%s is refused with BAD_USER_INPUT; nothing is saved', async (url, message) => {
    const before = await endpoints();
    const e = refused(await gw.gql(CREATE, { o: admin.orgId, url }, admin.token));
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.extensions.field).toBe('input.url');
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('10.0.0.7'); // what mixed.test resolves to is not told
    expect(await endpoints()).toEqual(before);
  });

  test('a name that resolves to a public address at creation and to 127.0.0.1 later is refused when connecting', async () => {
    rebound = false;
    const created = ok(await gw.gql<any>(CREATE, { o: admin.orgId, url: `https://rebind.test:${trap.port}/hooks` }, admin.token)).createWebhookEndpoint;
    rebound = true;
    ok(await gw.gql(STAGE, { o: admin.orgId, e: uniqueEmail('ssrf'), r: 'MEMBER' }, admin.token));
    let error = '';
    await waitFor('a failed attempt', async () => {
      const found = await rows<{ status: string; error: string }>(gw, 'select status, error from webhook_deliveries where endpoint_id = ?', [created.endpoint.id]);
      error = found[0]?.error ?? '';
      return found.length > 0;
    });
    expect(error).toContain('rebind.test resolves only to loopback, private or link-local addresses');
    expect(error).not.toContain('127.0.0.1');
    expect(trap.connections()).toBe(0);
    const metrics = await gw.container.metrics.registry.getSingleMetricAsString('orgway_webhook_deliveries_total');
    expect(metrics).toMatch(/outcome="network_error"\} [1-9]/);
  });
});

describe('the HTTP client', () => {
  let trap: Awaited<ReturnType<typeof tcpTrap>>;
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    trap = await tcpTrap();
    server = http.createServer((req, res) => {
      req.resume();
      if (req.url === '/endless') {
        // An answer that never ends: only the cap lets the client finish.
        res.writeHead(200);
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const pump = () => {
          while (res.write(chunk));
        };
        res.on('drain', pump);
        pump();
        return;
      }
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await trap.close();
  });

  test('with allowPrivate, http to loopback is allowed', async () => {
    const client = createWebhookHttpClient({ allowPrivate: true, timeoutMs: 5000 });
    try {
      expect(await client.checkUrl(new URL(`http://localhost:${port}/`))).toBeNull();
      expect(await client.post(`http://localhost:${port}/`, {}, '{}')).toEqual({ status: 204 });
    } finally {
      client.close();
    }
  });

  test('without it, http is refused, and a name resolving to 127.0.0.1 is refused at connect time without a connection', async () => {
    const client = createWebhookHttpClient({ allowPrivate: false, timeoutMs: 5000, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    try {
      await expect(client.post(`http://127.0.0.1:${port}/`, {}, '{}')).rejects.toThrow(/https/);
      await expect(client.post(`https://internal.test:${trap.port}/`, {}, '{}')).rejects.toThrow(/internal\.test resolves only to loopback/);
      await expect(client.post(`https://127.0.0.1:${trap.port}/`, {}, '{}')).rejects.toThrow(/127\.0\.0\.1/);
      await expect(client.post(`https://[::ffff:127.0.0.1]:${trap.port}/`, {}, '{}')).rejects.toThrow(/loopback/);
      expect(trap.connections()).toBe(0);
    } finally {
      client.close();
    }
  });

  test('a response body is read up to the cap, then the connection is dropped', async () => {
    const client = createWebhookHttpClient({ allowPrivate: true, timeoutMs: 10_000, maxResponseBytes: 64 * 1024 });
    try {
      expect(await client.post(`http://127.0.0.1:${port}/endless`, {}, '{}')).toEqual({ status: 200 });
    } finally {
      client.close();
    }
  });

  test('no answer within the deadline fails the attempt', async () => {
    const client = createWebhookHttpClient({ allowPrivate: true, timeoutMs: 1000 });
    try {
      await expect(client.post(`http://127.0.0.1:${trap.port}/`, {}, '{}')).rejects.toThrow(/no complete response within 1000 ms/);
    } finally {
      client.close();
    }
  });
});

describe('ORGWAY_WEBHOOK_* configuration', () => {
  test('defaults, and bad values named', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ webhookAllowPrivate: false, webhookTimeoutMs: 10_000, webhookConcurrency: 16 });
    expect(loadConfig({ ORGWAY_WEBHOOK_ALLOW_PRIVATE: 'TRUE' }).webhookAllowPrivate).toBe(true);
    expect(() => loadConfig({ ORGWAY_WEBHOOK_ALLOW_PRIVATE: 'yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ ORGWAY_WEBHOOK_ALLOW_PRIVATE: 'yes' })).toThrow(/ORGWAY_WEBHOOK_ALLOW_PRIVATE: must be true or false/);
    expect(() => loadConfig({ ORGWAY_WEBHOOK_TIMEOUT_MS: '10' })).toThrow(/ORGWAY_WEBHOOK_TIMEOUT_MS/);
    expect(() => loadConfig({ ORGWAY_WEBHOOK_CONCURRENCY: '0' })).toThrow(/ORGWAY_WEBHOOK_CONCURRENCY/);
  });
});
