import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  INVESTIGATION_ENTITY_KINDS,
  type InvestigationEntity,
  VERDICTS,
  type Verdict,
} from '../../domain/index.js';
import {
  EnrichmentAnswerError,
  type EnrichmentContext,
  type EnrichmentProvider,
  type EnrichmentResult,
} from './port.js';

/**
 * A step's params for a lookup against any HTTP service, one request per entity:
 * `{ "url": "https://ti.example/v1/{kind}/{key}", "headers": { "Authorization": "Bearer {secret:VIGIL_SECRET_TI}" },
 *    "kinds": ["ip", "url"], "timeoutMs": 3000, "retries": 2,
 *    "verdictField": "data.verdict", "whyField": "data.reason", "verdictMap": { "bad": "malicious" } }`.
 * Secrets come from the environment by name (only `VIGIL_SECRET_*`), never from the rule itself.
 */
export const httpStepParams = z.object({
  url: z.string().min(1).max(2000),
  method: z.enum(['GET', 'POST']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  kinds: z.array(z.enum(INVESTIGATION_ENTITY_KINDS)).optional(),
  timeoutMs: z.number().int().min(50).max(60_000).default(5_000),
  retries: z.number().int().min(0).max(5).default(1),
  verdictField: z.string().default('verdict'),
  whyField: z.string().default('reason'),
  verdictMap: z.record(z.string(), z.enum(VERDICTS)).default({}),
});

/** Looks up secrets by name; the http provider asks only for `VIGIL_SECRET_*`. */
export type SecretSource = (name: string) => string | undefined;

const SECRET = /\{secret:([A-Z0-9_]+)\}/g;

function withSecrets(value: string, secrets: SecretSource): string {
  return value.replace(SECRET, (_match, name: string) => {
    const secret = name.startsWith('VIGIL_SECRET_') ? secrets(name) : undefined;
    // Name the variable, never the value.
    if (secret === undefined) throw new Error(`secret ${name} is not set (only VIGIL_SECRET_* may be used)`);
    return secret;
  });
}

const pick = (value: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (at, part) =>
        at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined,
      value,
    );

class RetryableLookupError extends Error {}

/** One entity's lookup, with a timeout per attempt and retries (backoff) on timeouts, 429 and 5xx. */
async function lookup(
  params: z.output<typeof httpStepParams>,
  entity: InvestigationEntity,
  secrets: SecretSource,
  signal: AbortSignal,
): Promise<{ verdict: Verdict; why: string }> {
  const url = params.url
    .replace('{kind}', encodeURIComponent(entity.kind))
    .replace('{key}', encodeURIComponent(entity.key));
  const headers = Object.fromEntries(
    Object.entries(params.headers).map(([k, v]) => [k, withSecrets(v, secrets)]),
  );
  let lastError: unknown;
  for (let attempt = 0; attempt <= params.retries; attempt += 1) {
    if (attempt > 0) await sleep(100 * 2 ** (attempt - 1), undefined, { signal });
    try {
      const response = await fetch(url, {
        method: params.method,
        headers: {
          accept: 'application/json',
          ...headers,
          ...(params.method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
        ...(params.method === 'POST' ? { body: JSON.stringify({ kind: entity.kind, key: entity.key }) } : {}),
        signal: AbortSignal.any([signal, AbortSignal.timeout(params.timeoutMs)]),
      });
      const text = await response.text();
      if (response.status === 429 || response.status >= 500)
        throw new RetryableLookupError(`HTTP ${response.status}`);
      if (response.status === 404) return { verdict: 'unknown', why: 'not known to the service' };
      if (!response.ok) throw new EnrichmentAnswerError(`HTTP ${response.status}`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new EnrichmentAnswerError(`answer is not JSON (${text.slice(0, 40).replace(/\s+/g, ' ')}...)`);
      }
      const raw = pick(body, params.verdictField);
      const mapped = typeof raw === 'string' ? (params.verdictMap[raw] ?? raw) : raw;
      if (typeof mapped !== 'string' || !(VERDICTS as readonly string[]).includes(mapped)) {
        throw new EnrichmentAnswerError(
          `answer has no usable ${params.verdictField} (got ${JSON.stringify(raw)?.slice(0, 40)})`,
        );
      }
      const why = pick(body, params.whyField);
      return {
        verdict: mapped as Verdict,
        why: typeof why === 'string' ? why.slice(0, 500) : `${new URL(url).host} says ${mapped}`,
      };
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof EnrichmentAnswerError) throw error;
      lastError = error;
    }
  }
  const reason =
    lastError instanceof Error
      ? lastError.name === 'TimeoutError'
        ? `timed out after ${params.timeoutMs} ms`
        : lastError.message
      : String(lastError);
  throw new Error(
    `lookup of ${entity.kind} ${entity.key} failed after ${params.retries + 1} attempt(s): ${reason}`,
  );
}

/** A key decoded until decoding changes nothing more (`%252e` is `%2e` is `.`), as a lenient server might. */
function decodedFully(key: string): string {
  let current = key;
  for (let round = 0; round < 8; round += 1) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return current;
    }
    if (next === current) return current;
    current = next;
  }
  return current;
}

/**
 * Why a key may not go into the URL's path, or null. Entity keys come from alert senders: `..` or
 * a slash, even percent-encoded once or twice, could climb the service's path and send the
 * step's secret header to another of its endpoints. In the query string a key is only data.
 */
function unsafeKeyReason(urlTemplate: string, key: string): string | null {
  const inPath = urlTemplate.split('?')[0]?.includes('{key}') ?? false;
  if (!inPath) return null;
  const decoded = decodedFully(key);
  if (decoded === '.' || decoded === '..') return 'the key is a relative path segment (. or ..)';
  if (/[/\\]/.test(decoded)) return 'the key holds a path separator (/ or \\)';
  return null;
}

/** Keys skipped in the step log: enough to see what happened without storing a flood. */
const SKIPPED_LISTED = 100;

/**
 * The configurable HTTP lookup step; any failure fails the step (logged), never the investigation.
 * At most `maxCalls` entities are looked up per round (VIGIL_ENRICHMENT_MAX_CALLS): an alert naming
 * thousands of entities must not become thousands of calls. Skipped entities are listed in the
 * step's summary with the reason.
 */
export function httpProvider(secrets: SecretSource, maxCalls: number): EnrichmentProvider {
  return {
    name: 'http',
    async run(context: EnrichmentContext): Promise<EnrichmentResult> {
      const parsed = httpStepParams.safeParse(context.step.params);
      if (!parsed.success) {
        throw new EnrichmentAnswerError(
          `bad http step params: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
        );
      }
      const params = parsed.data;
      const skipped: { kind: string; key: string; reason: string }[] = [];
      let skippedCount = 0;
      const skip = (entity: InvestigationEntity, reason: string) => {
        skippedCount += 1;
        if (skipped.length < SKIPPED_LISTED) skipped.push({ kind: entity.kind, key: entity.key, reason });
      };
      const entities: InvestigationEntity[] = [];
      for (const entity of context.entities) {
        if (params.kinds !== undefined && !params.kinds.includes(entity.kind)) continue;
        const unsafe = unsafeKeyReason(params.url, entity.key);
        if (unsafe !== null) skip(entity, unsafe);
        else if (entities.length >= maxCalls)
          skip(entity, `over the cap of ${maxCalls} lookups per round (VIGIL_ENRICHMENT_MAX_CALLS)`);
        else entities.push(entity);
      }
      const answers = await Promise.all(
        entities.map((entity) => lookup(params, entity, secrets, context.signal)),
      );
      const result: EnrichmentResult = {
        verdicts: entities.map((entity, i) => ({
          kind: entity.kind,
          key: entity.key,
          ...(answers[i] as { verdict: Verdict; why: string }),
        })),
        findings: entities.flatMap((entity, i) => {
          const answer = answers[i] as { verdict: Verdict; why: string };
          return answer.verdict === 'unknown'
            ? []
            : [
                {
                  key: `${entity.kind}:${entity.key}`,
                  title: `${entity.displayName}: ${answer.verdict} (${answer.why})`,
                  verdict: answer.verdict,
                  entity: { kind: entity.kind, key: entity.key },
                  details: { service: new URL(params.url.replace(/\{(kind|key)\}/g, 'x')).host },
                },
              ];
        }),
        summary: { lookedUp: entities.length, ...(skippedCount > 0 ? { skippedCount, skipped } : {}) },
      };
      return result;
    },
  };
}
