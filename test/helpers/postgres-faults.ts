import pg from 'pg';
import { TEST_DATABASE_URL } from './harness.js';

/**
 * What a Postgres restart or failover does to a server's sessions: 57P01 on each. Only the
 * sessions of one `application_name`, so no other test file's connections are touched.
 * Returns how many were terminated.
 */
export async function terminateConnections(applicationName: string): Promise<number> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    const result = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    return result.rowCount ?? 0;
  } finally {
    await admin.end();
  }
}
