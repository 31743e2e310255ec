import type { UpdateObject } from 'kysely';
import type { Db } from './db.js';
import type { Database } from './schema.js';

/**
 * The rows a Graph write-back leases (one writer at a time, so two jobs cannot send Graph states
 * out of order), by table, with the column that names one.
 */
const keyColumn = { graph_alert_state: 'graph_id', incidents: 'id' } as const;
type LeasedTable = keyof typeof keyColumn;

interface LeaseColumns {
  readonly writeback_owner: string | null;
  readonly writeback_until: Date | null;
}

/**
 * Takes the lease of a row `trx` holds FOR UPDATE for `leaseMs`, unless another owner still holds
 * it: then says until when.
 */
export async function takeWriteBackLease(
  trx: Db,
  table: LeasedTable,
  key: string,
  row: LeaseColumns,
  lease: { readonly owner: string; readonly leaseMs: number; readonly now: Date },
): Promise<{ readonly kind: 'in_flight'; readonly until: Date } | null> {
  if (
    row.writeback_owner !== null &&
    row.writeback_owner !== lease.owner &&
    row.writeback_until !== null &&
    row.writeback_until > lease.now
  )
    return { kind: 'in_flight', until: row.writeback_until };
  await trx
    .updateTable(table)
    .set({ writeback_owner: lease.owner, writeback_until: new Date(lease.now.getTime() + lease.leaseMs) })
    .where(keyColumn[table], '=', key)
    .execute();
  return null;
}

/**
 * Gives the row back if `owner` still holds it, setting `values` with it; how many rows that was
 * (none when the lease went to another owner meanwhile).
 */
export async function endWriteBackLease<T extends LeasedTable>(
  db: Db,
  table: T,
  key: string,
  owner: string,
  values: UpdateObject<Database, T> = {},
): Promise<bigint> {
  // Kysely cannot narrow a generic table's columns; `values` was checked against `T` above.
  const leased: LeasedTable = table;
  const result = await db
    .updateTable(leased)
    .set({ ...(values as UpdateObject<Database, LeasedTable>), writeback_owner: null, writeback_until: null })
    .where(keyColumn[leased], '=', key)
    .where('writeback_owner', '=', owner)
    .executeTakeFirst();
  return result.numUpdatedRows;
}
