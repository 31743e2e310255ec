import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Value imports and re-exports (`import type` vanishes when compiled), over several lines too. */
const STATIC_IMPORT = /^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?'([^']+)';/gms;

/** The packages a module loads as it is imported: its static imports, followed through this project's files. */
function packagesLoadedBy(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, specifier = ''] of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (!specifier.startsWith('node:'))
        packages.add(
          specifier
            .split('/')
            .slice(0, specifier.startsWith('@') ? 2 : 1)
            .join('/'),
        );
    }
  };
  visit(entry);
  return packages;
}

describe('what every Vigil process loads', () => {
  it('leaves the worker role, the chat SDKs and OpenID Connect to the processes that use them', () => {
    // `vigil web` idles under 100 MB only without them (issue 16); each is imported when needed.
    const loaded = packagesLoadedBy(fileURLToPath(new URL('./app.ts', import.meta.url)));
    expect(loaded).toContain('fastify');
    for (const heavy of ['bullmq', 'openid-client', '@slack/bolt', '@slack/web-api', 'botbuilder'])
      expect(loaded).not.toContain(heavy);
  });
});
