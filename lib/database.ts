/** knex on MySQL (mysql2 driver), with the project's migrations listed explicitly. */
import knex, { type Knex } from 'knex';
import { loadConfig, type MysqlSettings } from './config';
import { migrationSource } from '../migrations';

export function createDatabase(mysql: MysqlSettings = loadConfig().mysql, pool = { min: 0, max: 5 }): Knex {
  return knex({
    client: 'mysql2',
    connection: {
      host: mysql.host,
      port: mysql.port,
      user: mysql.user,
      password: mysql.password,
      database: mysql.database,
      charset: 'utf8mb4',
      // DATETIME columns hold UTC.
      timezone: 'Z',
      supportBigNumbers: true,
    },
    pool,
    migrations: { migrationSource, tableName: 'knex_migrations' },
  });
}

/** Brings the schema to the newest version; returns the names of the migrations it ran. */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, ran] = (await db.migrate.latest()) as [number, string[]];
  return ran;
}
