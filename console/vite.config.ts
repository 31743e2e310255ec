import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The web console: a static bundle under dist/console, served by Vigil at /console/. Everything is
 * bundled (no CDN), and the page has no inline script, so the CSP can say `script-src 'self'`.
 */
export default defineConfig({
  root,
  base: '/console/',
  // Preact's automatic JSX runtime (`jsxImportSource` in console/tsconfig.json says the same to tsc).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // The Adaptive Cards renderer alone is ~400 kB; one chunk is fine for a console on a LAN.
    chunkSizeWarningLimit: 1200,
    // Inline data: URLs would need `img-src data:` only; module preload polyfill would be inline script.
    modulePreload: { polyfill: false },
  },
  // `npm run console:dev`: the console with hot reload, its API calls proxied to a running Vigil.
  server: {
    proxy: { '/api': process.env.VIGIL_URL ?? 'http://127.0.0.1:3000' },
  },
});
