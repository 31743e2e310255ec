import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { Config } from './config.js';
import { type Actor, issuePath, type PoliciesFile, policiesFileSchema, systemClock } from './domain/index.js';
import { openDb } from './storage/db.js';
import { migrate } from './storage/migrate.js';
import { applyPoliciesFile, type PoliciesFileDiff } from './storage/policy.repository.js';

/** One problem in a policies file, at its path (`policies[2].conditions.severityAtLeast`). */
export interface FileProblem {
  readonly path: string;
  readonly message: string;
}

/** Parses and validates a whole policies file; every problem is listed, none is fixed silently. */
export function parsePoliciesFile(
  text: string,
): { ok: true; file: PoliciesFile } | { ok: false; problems: FileProblem[] } {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const message = error instanceof YAMLParseError ? error.message : String(error);
    return { ok: false, problems: [{ path: '(file)', message: `not valid YAML: ${message}` }] };
  }
  const parsed = policiesFileSchema.safeParse(raw ?? {});
  if (parsed.success) return { ok: true, file: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => ({
      path: issuePath(issue.path) || '(file)',
      message: issue.message,
    })),
  };
}

/** The difference as people read it: one line per name that changes, and a count of the rest. */
export function describeDiff(diff: PoliciesFileDiff): string {
  const lines: string[] = [];
  for (const [label, part] of [
    ['policy', diff.policies],
    ['schedule', diff.schedules],
    ['escalation policy', diff.escalationPolicies],
  ] as const) {
    for (const item of part.added) lines.push(`+ ${label} ${item.name} (added)`);
    for (const item of part.changed) lines.push(`~ ${label} ${item.name} (changed)`);
    for (const item of part.removed) lines.push(`- ${label} ${item.name} (removed)`);
    if (part.unchanged.length > 0) lines.push(`  ${part.unchanged.length} ${label}(s) unchanged`);
  }
  return lines.length === 0 ? 'Nothing to apply: the file is empty and so is Vigil.' : lines.join('\n');
}

/**
 * `vigil policies apply <file> [--dry-run]`: validates the whole file, shows the difference and
 * applies it in one transaction. Returns the exit code: 0 applied (or nothing to do), 1 refused.
 */
export async function runPoliciesCommand(
  args: readonly string[],
  config: Config,
  databaseUrl: string,
  out: { log: (line: string) => void; error: (line: string) => void } = console,
): Promise<number> {
  const [sub, path, ...flags] = args;
  const dryRun = flags.includes('--dry-run');
  if (sub !== 'apply' || path === undefined || flags.some((flag) => flag !== '--dry-run')) {
    out.error('Usage: vigil policies apply <policies.yaml> [--dry-run]');
    return 2;
  }
  const parsed = parsePoliciesFile(await readFile(path, 'utf8'));
  if (!parsed.ok) {
    out.error(`${path} was refused; nothing was applied. ${parsed.problems.length} problem(s):`);
    for (const problem of parsed.problems) out.error(`  ${problem.path}: ${problem.message}`);
    return 1;
  }
  const handle = openDb({ url: databaseUrl, schema: config.VIGIL_DB_SCHEMA, poolSize: 2 });
  try {
    const migrated = await migrate(handle);
    if (migrated.error !== undefined) throw new Error('database migration failed', { cause: migrated.error });
    const actor: Actor = { kind: 'user', platform: 'console', id: `cli:${userInfo().username}` };
    const diff = await applyPoliciesFile(handle, parsed.file, actor, systemClock.now(), { dryRun });
    out.log(describeDiff(diff));
    out.log(dryRun ? 'Dry run: nothing was applied.' : 'Applied.');
    return 0;
  } finally {
    await handle.close();
  }
}
