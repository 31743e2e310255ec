import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  type AlertDraft,
  type AlertEntity,
  cleanJson,
  cleanText,
  DESCRIPTION_MAX,
  entityKey,
  httpUrl,
  type IngestEvent,
  TITLE_MAX,
} from '../../../domain/index.js';

/**
 * One ingest format: a zod schema written from the format's public documentation, and the
 * mapping of a valid payload to Vigil's ingest events. The route does auth, limits and storage.
 */
export interface IngestFormat<S extends z.ZodType = z.ZodType> {
  /** The path segment of `POST /ingest/<name>` and the alert's `source`. */
  readonly name: string;
  readonly schema: S;
  toEvents(payload: z.infer<S>, receivedAt: Date): IngestEvent[];
}

export const defineFormat = <S extends z.ZodType>(format: IngestFormat<S>): IngestFormat<S> => format;

/** A stable fingerprint from the parts that identify an alert at its source. */
export function fingerprintOf(source: string, ...parts: readonly string[]): string {
  return `${source}:${createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32)}`;
}

/** Labels in a canonical order, so the same set always fingerprints alike. */
export const canonicalLabels = (labels: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Builds a draft with text cleaned (see `cleanText`), entity keys normalised and de-duplicated, and the payload
 * kept. Every format goes through here so none forgets a step.
 */
export function draft(
  fields: Omit<AlertDraft, 'entities' | 'raw'> & {
    readonly entities?: readonly AlertEntity[];
    readonly raw: unknown;
  },
): AlertDraft {
  const seen = new Set<string>();
  const entities = (fields.entities ?? [])
    .map((entity) => ({
      ...entity,
      // One key per identity, whatever the case the source wrote it in (see `entityKey`).
      key: entityKey(entity.kind, cleanText(entity.key, 1_000)),
      displayName: cleanText(entity.displayName, 500),
      attributes: cleanJson(entity.attributes) as Record<string, unknown>,
    }))
    .filter((entity) => {
      const id = `${entity.kind}\u0000${entity.key}`;
      if (entity.key === '' || seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  return {
    ...fields,
    title: cleanText(fields.title, TITLE_MAX) || '(untitled alert)',
    description: cleanText(fields.description, DESCRIPTION_MAX),
    category: fields.category === null ? null : cleanText(fields.category, 200),
    policyName: fields.policyName === null ? null : cleanText(fields.policyName, 500),
    labels: Object.fromEntries(
      Object.entries(fields.labels).map(([key, value]) => [cleanText(key, 200), cleanText(value, 2_000)]),
    ),
    links: fields.links.map((link) => ({
      title: cleanText(link.title, 200),
      url: cleanText(link.url, 2_000),
    })),
    entities,
    raw: cleanJson(fields.raw),
  };
}

/** A date the source gave, or the time of receipt when it gave none or an unreadable one. */
export function dateOr(value: string | null | undefined, fallback: Date): Date {
  if (value === null || value === undefined || value === '') return fallback;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? fallback : parsed;
}

/** Only http(s) links survive: a `javascript:` URL from a payload must never become a button. */
export const safeUrl = httpUrl;

/**
 * A body that may take one of two shapes (one alert, or a batch of them): picks the schema by a
 * look at the body and reports that schema's issues with their own paths. A plain union would
 * answer "Invalid input" at the root and name no field.
 */
export function eitherShape<A extends z.ZodType, B extends z.ZodType>(
  isSecond: (body: unknown) => boolean,
  first: A,
  second: B,
): z.ZodType<z.output<A> | z.output<B>> {
  return z.unknown().transform((body, ctx) => {
    const result = (isSecond(body) ? second : first).safeParse(body);
    if (result.success) return result.data as z.output<A> | z.output<B>;
    for (const issue of result.error.issues) {
      ctx.addIssue({
        code: 'custom',
        message: issue.message,
        path: issue.path as PropertyKey[],
        input: body,
      });
    }
    return z.NEVER;
  });
}

export const hasKey =
  (key: string) =>
  (body: unknown): boolean =>
    typeof body === 'object' && body !== null && !Array.isArray(body) && key in body;
