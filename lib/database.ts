/**
 * knex on MySQL (mysql2 driver), with the project's migrations listed explicitly.
 *
 * Two users: the worker connects as MYSQL_URL's user, which may only read and write rows; the
 * migrations run as MYSQL_MIGRATION_URL's user, which may also change the schema. A worker
 * therefore never migrates: it checks the schema is current and says how to make it so.
 */
import knex, { type Knex } from 'knex';
import { loadConfig, mysqlConnectionOptions, type MysqlSettings } from './config';
import { grantWorkerTables, workerRole } from './worker-grants';
import { migrationSource } from '../migrations';

export const MIGRATIONS_TABLE = 'knex_migrations';

/**
 * How long MySQL keeps a session that sends nothing, in or out of a transaction. A worker frozen
 * inside a transaction (SIGSTOP, a VM pause) or cut off without a reset holds its row locks until
 * MySQL ends its session; at the server's default (8 hours) every new attempt of its step would
 * wait for them and fail. Well past any pause between one transaction's statements (milliseconds)
 * and twice the pool's idle timeout (30 s), which closes idle connections first.
 */
export const IDLE_SESSION_SECONDS = 60;

export function createDatabase(
  mysql: MysqlSettings = loadConfig().mysql,
  pool: { max: number } = { max: 5 },
  idleSessionSeconds = IDLE_SESSION_SECONDS,
): Knex {
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
    pool: {
      max: pool.max,
      // No connection kept idle (knex would keep 2), and each closed well before MySQL ends its
      // session: a process resumed from a freeze never picks up one the server has already ended.
      min: 0,
      idleTimeoutMillis: Math.min(30_000, (idleSessionSeconds * 1000) / 2),
      afterCreate(connection: { query(sql: string, values: unknown[], done: (error: Error | null) => void): void }, done: (error: Error | null, connection: unknown) => void) {
        connection.query('SET SESSION wait_timeout = ?', [idleSessionSeconds], (error) => done(error, connection));
      },
    },
    migrations: { migrationSource, tableName: MIGRATIONS_TABLE },
  });
}

/**
 * Brings the schema to the newest version (as the migration user), then grants the worker's role
 * its rows on the tables (see lib/worker-grants.ts); returns the migrations it ran.
 */
export async function migrateToLatest(db: Knex, workerUser: string = loadConfig().mysql.user): Promise<string[]> {
  const [, ran] = (await db.migrate.latest()) as [number, string[]];
  const database = db.client.database() as string;
  try {
    await grantWorkerTables(async (sql, bindings) => (await db.raw(sql, bindings as Knex.RawBinding[]))[0], database, workerRole(workerUser));
  } catch (error) {
    // A migrations' user without GRANT OPTION: whoever made the users grants the worker's rows
    // (a stack from before the role, a DBA's own grants); the worker's first write says if not.
    if ((error as { code?: string }).code === 'ER_TABLEACCESS_DENIED_ERROR') return ran;
    // MariaDB's and MySQL 8's words for a role that does not exist.
    if (['ER_PASSWORD_NO_MATCH', 'ER_CANT_CREATE_USER_WITH_GRANT'].includes((error as { code?: string }).code ?? '')) {
      throw new Error(
        `the schema is current, but role ${workerRole(workerUser)} (MYSQL_URL's user's rows) does not exist: \`segment stack up\` makes it, or see README "Least privilege"`,
        { cause: error },
      );
    }
    throw error;
  }
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

/**
 * Refuses to work on a schema older than this code (its queries would fail half way through a run)
 * or newer than it (a release that added columns this code would leave stale, e.g. an older worker
 * beside newer ones after an upgrade).
 */
export async function assertSchemaCurrent(db: Knex): Promise<void> {
  const pending = await pendingMigrations(db);
  if (pending.length > 0) {
    throw new Error(
      `the MySQL schema is not up to date (pending: ${pending.join(', ')}); run \`npx segment migrate\`, which connects as MYSQL_MIGRATION_URL's user`,
    );
  }
  const known = await migrationSource.getMigrations([]);
  const unknown = (await db(MIGRATIONS_TABLE).pluck('name')).filter((name: string) => !known.includes(name));
  if (unknown.length > 0) {
    throw new Error(`the MySQL schema is newer than this release (migrations it does not know: ${unknown.join(', ')}): run the release that migrated it`);
  }
}
