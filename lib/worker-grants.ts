/**
 * The worker's user writes rows of the application's tables and nothing else: not knex's
 * bookkeeping (knex_migrations, knex_migrations_lock), whose rows say which schema the database
 * has. MySQL cannot grant "the database except two tables", so the worker's user has SELECT on the
 * database and a role holding INSERT, UPDATE, DELETE on each table lib/tables.ts names. The tables
 * are made by the migrations, so the migrations' user grants the role its rows once they exist.
 * The classify step's `LOAD DATA LOCAL INFILE ... REPLACE` needs no more than these (INSERT, and
 * DELETE for a row it replaces); never FILE, which only a server-side file would need.
 *
 * Not on `customer_segments`: it is a view of the published run's history (migration 016), which
 * the worker changes by changing the publication row, never through the view. A role granted rows
 * on the table before keeps them on the view of the same name (MySQL keeps a dropped table's
 * grants), so they are revoked.
 */
import { TABLES } from './tables';

export const WORKER_TABLE_PRIVILEGES = 'INSERT, UPDATE, DELETE';

/** The role MYSQL_URL's user is given by default: `<user>_writer`. */
export function workerRole(workerUser: string): string {
  return `${workerUser}_writer`;
}

/** Runs one statement with `?` bindings and returns its rows (knex's raw or a mysql2 connection). */
export type Query = (sql: string, bindings: unknown[]) => Promise<unknown>;

/** What the worker reads only. */
const READ_ONLY: readonly string[] = [TABLES.segments];

/** MariaDB's and MySQL 8's answer to revoking a grant the role does not hold. */
const NO_SUCH_GRANT = 'ER_NONEXISTING_TABLE_GRANT';

/** Grants the role its rows on those of the application's tables that exist in `database` (and revokes them on views); returns the tables granted. */
export async function grantWorkerTables(query: Query, database: string, role: string): Promise<string[]> {
  const names = Object.values(TABLES);
  const rows = (await query(
    `SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_schema = ? AND table_name IN (${names.map(() => '?').join(', ')})`,
    [database, ...names],
  )) as Array<{ name: string; type: string }>;
  const writable = (row: { name: string; type: string }) => row.type === 'BASE TABLE' && !READ_ONLY.includes(row.name);
  const tables = rows.filter(writable).map((row) => row.name).sort();
  for (const table of tables) {
    await query(`GRANT ${WORKER_TABLE_PRIVILEGES} ON ??.?? TO ?`, [database, table, role]);
  }
  for (const { name } of rows.filter((row) => !writable(row))) {
    await query(`REVOKE ${WORKER_TABLE_PRIVILEGES} ON ??.?? FROM ?`, [database, name, role]).catch((error: { code?: string }) => {
      if (error.code !== NO_SUCH_GRANT) throw error;
    });
  }
  return tables;
}
