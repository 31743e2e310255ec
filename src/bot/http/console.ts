import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Where `vite build --config console/vite.config.ts` puts the console. This file sits three
 * folders below the package root both as `src/bot/http/console.ts` (tsx) and as
 * `dist/bot/http/console.js` (built), so one relative path serves both.
 */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

/**
 * The console's Content-Security-Policy. Scripts and styles come only from Vigil itself (the
 * bundle has no inline script); the page talks only to its own origin; it may not be framed.
 * `style-src 'unsafe-inline'` is for the `style` attributes the Adaptive Cards renderer sets; no
 * data ever reaches a style attribute.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Vigil console</title>
<p>The web console is not built. Run <code>npm run build:console</code> (or <code>npm install</code>) and reload.</p>`;

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('Content-Security-Policy', CONSOLE_CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('X-Frame-Options', 'DENY');
}

/**
 * Serves the built console under `/console/`. The files are public: they hold no data and no
 * secret (the API token is typed in, or handed over in the URL fragment, which never reaches a
 * server). A handler of our own rather than @fastify/static: the console is one HTML page and a
 * few content-hashed assets, and @fastify/static's current major needs Node 22.
 */
export async function consoleRoutes(app: FastifyInstance, options: { dir?: string } = {}): Promise<void> {
  const dir = path.resolve(options.dir ?? CONSOLE_DIR);

  const sendIndex = async (reply: FastifyReply) => {
    const file = path.join(dir, 'index.html');
    secure(reply).header('Cache-Control', 'no-cache').type('text/html; charset=utf-8');
    if (!existsSync(file)) return reply.code(503).send(NOT_BUILT);
    return reply.send(await readFile(file));
  };

  app.get('/', async (_request, reply) => reply.redirect('/console/'));
  app.get('/console', async (_request, reply) => reply.redirect('/console/'));
  app.get('/console/', async (_request, reply) => sendIndex(reply));
  app.get<{ Params: { '*': string } }>('/console/*', async (request, reply) => {
    const relative = request.params['*'];
    const file = path.resolve(dir, relative);
    // Only files inside the console folder; `..` and absolute paths end up outside it.
    const inside = file.startsWith(dir + path.sep);
    const type = CONTENT_TYPES[path.extname(file)];
    if (!inside || type === undefined || !existsSync(file)) {
      // The console routes by URL fragment, so any other path under /console/ is a typo: 404.
      return secure(reply).code(404).type('text/plain; charset=utf-8').send('Not found');
    }
    secure(reply)
      .type(type)
      // Vite names assets by content hash, so they never change under the same name.
      .header(
        'Cache-Control',
        relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    return reply.send(await readFile(file));
  });
}
