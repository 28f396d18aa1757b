/**
 * The worker's user writes rows of the application's tables and nothing else: not knex's
 * bookkeeping (knex_migrations, knex_migrations_lock), whose rows say which schema the database
 * has. MySQL cannot grant "the database except two tables", so the worker's user has SELECT on the
 * database and a role holding INSERT, UPDATE, DELETE on each table lib/tables.ts names. The tables
 * are made by the migrations, so the migrations' user grants the role its rows once they exist.
 * The classify step's `LOAD DATA LOCAL INFILE ... REPLACE` needs no more than these (INSERT, and
 * DELETE for a row it replaces); never FILE, which only a server-side file would need.
 */
import { TABLES } from './tables';

export const WORKER_TABLE_PRIVILEGES = 'INSERT, UPDATE, DELETE';

/** The role MYSQL_URL's user is given by default: `<user>_writer`. */
export function workerRole(workerUser: string): string {
  return `${workerUser}_writer`;
}

/** Runs one statement with `?` bindings and returns its rows (knex's raw or a mysql2 connection). */
export type Query = (sql: string, bindings: unknown[]) => Promise<unknown>;

/** Grants the role its rows on those of the application's tables that exist in `database`; returns them. */
export async function grantWorkerTables(query: Query, database: string, role: string): Promise<string[]> {
  const names = Object.values(TABLES);
  const rows = (await query(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_name IN (${names.map(() => '?').join(', ')})`,
    [database, ...names],
  )) as Array<{ name: string }>;
  const tables = rows.map((row) => row.name).sort();
  for (const table of tables) {
    await query(`GRANT ${WORKER_TABLE_PRIVILEGES} ON ??.?? TO ?`, [database, table, role]);
  }
  return tables;
}
