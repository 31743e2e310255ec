import { existsSync } from 'node:fs';
import { benchIngest } from './ingest.js';

/** `npm run bench`: every benchmark in turn; each prints its own figures. */
const optional = ['./slack.js', './teams.js', './remediation.js', './investigations.js', './policies.js'];

await benchIngest();
for (const module of optional) {
  if (!existsSync(new URL(module.replace('.js', '.ts'), import.meta.url))) continue;
  const loaded = (await import(module)) as Record<string, unknown>;
  for (const [name, run] of Object.entries(loaded)) {
    if (name.startsWith('bench') && typeof run === 'function') await (run as () => Promise<void>)();
  }
}
process.exit(0);
