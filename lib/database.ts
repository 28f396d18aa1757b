/**
 * knex on MySQL (mysql2 driver), with the project's migrations listed explicitly.
 *
 * Two users: the worker connects as MYSQL_URL's user, which may only read and write rows; the
 * migrations run as MYSQL_MIGRATION_URL's user, which may also change the schema. A worker
 * therefore never migrates: it checks the schema is current and says how to make it so.
 */
import knex, { type Knex } from 'knex';
import { loadConfig, mysqlConnectionOptions, type MysqlSettings } from './config';
import { migrationSource } from '../migrations';

export const MIGRATIONS_TABLE = 'knex_migrations';

export function createDatabase(mysql: MysqlSettings = loadConfig().mysql, pool = { min: 0, max: 5 }): Knex {
  return knex({
    client: 'mysql2',
    connection: {
      // host, port, user, password, database and, with MYSQL_SSL_MODE, mysql2's `ssl`.
      ...mysqlConnectionOptions(mysql),
      charset: 'utf8mb4',
      // DATETIME columns hold UTC.
      timezone: 'Z',
      supportBigNumbers: true,
    },
    pool,
    migrations: { migrationSource, tableName: MIGRATIONS_TABLE },
  });
}

/** Brings the schema to the newest version (as the migration user); returns the migrations it ran. */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, ran] = (await db.migrate.latest()) as [number, string[]];
  return ran;
}

/** Migrations the database has not had yet, read with SELECT only (the worker's user can). */
export async function pendingMigrations(db: Knex): Promise<string[]> {
  let applied: string[];
  try {
    applied = await db(MIGRATIONS_TABLE).pluck('name');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ER_NO_SUCH_TABLE') throw error;
    applied = [];
  }
  const all = await migrationSource.getMigrations([]);
  return all.filter((name) => !applied.includes(name));
}

/** Refuses to work on a schema older than this code: its queries would fail half way through a run. */
export async function assertSchemaCurrent(db: Knex): Promise<void> {
  const pending = await pendingMigrations(db);
  if (pending.length > 0) {
    throw new Error(
      `the MySQL schema is not up to date (pending: ${pending.join(', ')}); run \`npx segment migrate\`, which connects as MYSQL_MIGRATION_URL's user`,
    );
  }
}
