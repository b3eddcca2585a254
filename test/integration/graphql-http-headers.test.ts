/**
 * What the HTTP answers of /graphql tell caches and browsers: a viewer's data (GET queries
 * answer from a URL that does not name the viewer) must never be stored by a shared cache.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { type Gateway, useGateway } from '../kit/gateway.js';

let admin: Awaited<ReturnType<Gateway['bootstrap']>>;

const gw = useGateway();
beforeAll(async () => {
  admin = await gw.bootstrap('Headers Co');
});

const VIEWER = '{ viewer { user { email } } }';

describe('GraphQL answers are not stored by caches', () => {
  test('a GET query authenticated by the session cookie', async () => {
    const r = await fetch(`${gw.url}/graphql?query=${encodeURIComponent(VIEWER)}`, { headers: { cookie: `orgway_session=${admin.token}`, 'apollo-require-preflight': '1' } });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain(admin.email);
    expect(r.headers.get('cache-control')).toBe('no-store');
  });

  test('a POST with a bearer token, and a refusal', async () => {
    const r = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` }, body: JSON.stringify({ query: VIEWER }) });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const bad = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer nope' }, body: JSON.stringify({ query: VIEWER }) });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('cache-control')).toBe('no-store');
  });
});

describe('the explorer page (GET /graphql in a browser)', () => {
  test('cannot be framed by another site', async () => {
    const r = await fetch(`${gw.url}/graphql`, { headers: { accept: 'text/html', cookie: `orgway_session=${admin.token}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    expect(r.headers.get('cache-control')).toBe('no-store');
  });
});
