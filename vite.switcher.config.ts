/**
 * Builds `<orgway-org-switcher>` as one self-contained ES module, dist/ui/org-switcher.js,
 * with a stable name so a product's pages can load it from /ui/org-switcher.js.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: resolve(import.meta.dirname, 'dist/ui'),
    // Runs after the app's build, into the same directory.
    emptyOutDir: false,
    // Vite leaves ES libraries readable by default; this file is served to browsers as it is.
    rolldownOptions: { output: { minify: true } },
    lib: { entry: resolve(import.meta.dirname, 'ui/org-switcher/org-switcher.ts'), formats: ['es'], fileName: () => 'org-switcher.js' },
  },
});
