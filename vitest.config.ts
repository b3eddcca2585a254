import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships index.mjs and index.js. Node (and so type-graphql, Apollo, graphql-ws)
    // loads index.js; without this alias Vite would hand our sources index.mjs: two realms.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database; two workers keep a 2-core machine busy without thrashing.
    pool: 'forks',
    maxWorkers: 2,
    setupFiles: ['test/kit/setup.ts'],
  },
});
