/**
 * Postgres refuses a statement with more than 65,535 bind parameters. Multi-row inserts whose
 * size the sender controls (entities of a batch of alerts) are cut into statements well under it,
 * all in the caller's transaction.
 */
const PARAMETERS_PER_STATEMENT = 30_000;

/** `rows` in consecutive slices of at most PARAMETERS_PER_STATEMENT / `parametersPerRow` rows. */
export function inChunks<T>(rows: readonly T[], parametersPerRow: number): T[][] {
  const size = Math.max(1, Math.floor(PARAMETERS_PER_STATEMENT / parametersPerRow));
  const chunks: T[][] = [];
  for (let start = 0; start < rows.length; start += size) chunks.push(rows.slice(start, start + size));
  return chunks;
}
