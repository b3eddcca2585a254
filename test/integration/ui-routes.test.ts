/**
 * The routes that serve the built pages: only files the build produced, with cache headers
 * that fit them, and a page that says what to do when nothing was built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { registerUiRoutes } from '../../src/transports/ui/routes.js';

const dirs: string[] = [];
const built = () => {
  const dir = mkdtempSync(join(tmpdir(), 'orgway-ui-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dir, 'graphiql.html'), '<!doctype html><title>explorer</title>');
  writeFileSync(join(dir, 'org-switcher.js'), 'export {};');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1);');
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('hosted pages routes', () => {
  it('serves the app at its routes, hashed assets for a year, the element cross-origin, and nothing else', async () => {
    const app = Fastify();
    const pages = registerUiRoutes(app, built());
    for (const url of ['/', '/organizations', '/console', '/console/members']) {
      const r = await app.inject(url);
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.body).toContain('<title>app</title>');
    }
    const asset = await app.inject('/ui/assets/index-abc123.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect(asset.headers['cache-control']).toContain('immutable');
    const element = await app.inject('/ui/org-switcher.js');
    expect(element.headers['cache-control']).toBe('no-cache');
    expect(element.headers['cross-origin-resource-policy']).toBe('cross-origin');
    for (const url of ['/ui/missing.js', '/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/assets/..%2f..%2fpackage.json']) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(404);
      expect(r.body).not.toContain('"name"');
    }
    expect(pages.explorerHtml()).toContain('<title>explorer</title>');
    await app.close();
  });

  it('the pages cannot be framed under their /ui/ file names either (the explorer and the app run with the session cookie)', async () => {
    const app = Fastify();
    registerUiRoutes(app, built());
    for (const url of ['/', '/ui/index.html', '/ui/graphiql.html']) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['x-frame-options'], url).toBe('DENY');
    }
    await app.close();
  });

  it('says how to build the pages when dist/ui is missing', async () => {
    const app = Fastify();
    const pages = registerUiRoutes(app, join(tmpdir(), 'orgway-ui-does-not-exist'));
    const r = await app.inject('/');
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('npm run build');
    expect(pages.explorerHtml()).toContain('npm run build');
    await app.close();
  });
});
