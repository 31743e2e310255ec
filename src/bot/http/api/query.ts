import { z } from 'zod';

/** A comma-separated query parameter whose items must each be one of `values` (`?status=new,in_progress`). */
export const listParam = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(values)))
    .optional();

/** A comma-separated query parameter of free strings (`?source=graph,grafana`). */
export const stringListParam = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .optional();

/** The position after a row in a newest-first list, opaque to callers. */
export const encodeCursor = (createdAt: Date, id: string): string =>
  Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');

/** A cursor this API gave out (see `encodeCursor`), decoded; anything else fails with a clear message. */
export const cursorParam = z
  .string()
  .transform((value, ctx) => {
    try {
      const [createdAt, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as [
        string,
        string,
      ];
      const date = new Date(createdAt);
      if (Number.isNaN(date.getTime()) || typeof id !== 'string') throw new Error('bad cursor');
      return { createdAt: date, id };
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor this API gave out' });
      return z.NEVER;
    }
  })
  .optional();
