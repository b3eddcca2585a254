/**
 * Builds the hosted pages (ui/) into dist/ui: the app and the GraphQL explorer, every
 * script, style and font emitted as a file the gateway serves under /ui/.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const ui = resolve(import.meta.dirname, 'ui');

export default defineConfig({
  root: ui,
  base: '/ui/',
  // Copied as they are: the plain example page of the org switcher element.
  publicDir: resolve(ui, 'public'),
  logLevel: 'warn',
  build: {
    outDir: resolve(import.meta.dirname, 'dist/ui'),
    emptyOutDir: true,
    // The explorer's editor is large by nature; it is only loaded at /graphql.
    chunkSizeWarningLimit: 6000,
    rollupOptions: {
      input: { index: resolve(ui, 'index.html'), graphiql: resolve(ui, 'graphiql.html') },
      // React libraries mark modules "use client" for server rendering; a browser bundle has nothing to keep.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  // The editor's language workers import each other; ES module workers keep them split.
  worker: { format: 'es' },
});
