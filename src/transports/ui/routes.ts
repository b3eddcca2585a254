/**
 * The hosted pages: the React app (sign-in, organizations, console), its assets, the
 * `<orgway-org-switcher>` element and the GraphQL explorer, all built by `npm run build`
 * into dist/ui and served from here, so nothing is fetched from another host.
 *
 *   GET /, /organizations, /console/*   the app's index.html (client-side routes)
 *   GET /ui/*                           built files (hashed assets cached for a year)
 *   explorerHtml()                      the GraphiQL page that GET /graphql shows to browsers
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** The package root: the nearest ancestor with package.json (from src/ under tests, dist/src/ when built). */
const packageRoot = (): string => {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
};

export const defaultUiDirectory = (): string => join(packageRoot(), 'dist', 'ui');

const listFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));

const notBuilt = (what: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>orgway: ${what} not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem">
<main><h1>The ${what} is not built</h1><p>Run <code>npm run build</code> (or <code>npm start</code>, which builds first) and reload.</p></main>
</body></html>
`;

export interface HostedPages {
  /** The explorer page for GET /graphql in a browser. */
  explorerHtml(): string;
}

export const registerUiRoutes = (app: FastifyInstance, directory = defaultUiDirectory()): HostedPages => {
  // Files are listed once at start: only what the build produced can be served (no path is read from the URL).
  const files = new Map<string, string>();
  if (existsSync(directory)) for (const file of listFiles(directory)) files.set(relative(directory, file).split(sep).join('/'), file);
  const read = (name: string): Buffer | null => {
    const file = files.get(name);
    return file ? readFileSync(file) : null;
  };

  const sendIndex = (reply: FastifyReply) => {
    const html = read('index.html');
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'same-origin')
      .send(html ?? notBuilt('web interface'));
  };
  for (const url of ['/', '/organizations', '/console', '/console/*']) app.get(url, (_request, reply) => sendIndex(reply));

  app.get<{ Params: { '*': string } }>('/ui/*', (request, reply) => {
    const name = request.params['*'];
    const body = read(name);
    if (!body) return reply.code(404).type('application/json; charset=utf-8').send({ error: { code: 'NOT_FOUND', message: `No file /ui/${name}.` } });
    // Built assets carry a content hash in their names; the element and pages keep stable names.
    const immutable = name.startsWith('assets/');
    return reply
      .type(CONTENT_TYPES[extname(name)] ?? 'application/octet-stream')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      // index.html and graphiql.html are reachable here too: framed, they would be the pages / and GET /graphql refuse to be.
      .header('x-frame-options', 'DENY')
      // The element is loaded by the product's own pages, which may live on another origin.
      .header('cross-origin-resource-policy', name === 'org-switcher.js' ? 'cross-origin' : 'same-origin')
      .send(body);
  });

  return {
    explorerHtml: () => read('graphiql.html')?.toString('utf8') ?? notBuilt('GraphQL explorer'),
  };
};
