/** The knex migrations go up and down cleanly on the real MySQL (MariaDB with MySQL 8's sql_mode). */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { loadConfig, mysqlConnectionOptions } from '../../lib/config';
import { assertSchemaCurrent, createDatabase, migrateToLatest, pendingMigrations } from '../../lib/database';

const config = loadConfig();
const database = `${config.mysql.database}_test_migrations_${randomBytes(3).toString('hex')}`;
const MIGRATION_COUNT = 14;
const TABLES = [
  'customer_segment_history',
  'customer_segments',
  'invoice_ledger',
  'invoice_ledger_state',
  'kafka_consumer_offsets',
  'segment_publication',
  'segment_publication_events',
  'segmentation_runs',
  'segmentation_step_attempts',
  'staging_customer_invoices',
  'staging_load_rows',
  'staging_purchase_counts',
  'staging_run_invoices',
];

beforeAll(async () => {
  const admin = await mysql.createConnection(mysqlConnectionOptions(config.mysqlMigration));
  await admin.query(`CREATE DATABASE ${mysql.escapeId(database)}`);
  await admin.end();
});

afterAll(async () => {
  const admin = await mysql.createConnection(mysqlConnectionOptions(config.mysqlMigration));
  await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
  await admin.end();
});

async function tables(db: ReturnType<typeof createDatabase>): Promise<string[]> {
  const [rows] = await db.raw('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [database]);
  return (rows as Array<{ name: string }>).map((row) => row.name).filter((name) => !name.startsWith('knex_')).sort();
}

test('migrations go up, are idempotent, and roll back to nothing', async () => {
  const db = createDatabase({ ...config.mysqlMigration, database });
  try {
    expect(await migrateToLatest(db)).toHaveLength(MIGRATION_COUNT);
    expect(await tables(db)).toEqual(TABLES);
    expect(await migrateToLatest(db)).toEqual([]);

    const [columns] = await db.raw(
      'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position',
      [database, 'customer_segments'],
    );
    expect((columns as Array<{ name: string }>).map((c) => c.name).slice(0, 3)).toEqual(['CustomerID', 'PurchaseCount', 'FrequencyCategory']);

    await db.migrate.rollback(undefined, true);
    expect(await tables(db)).toEqual([]);
    expect(await migrateToLatest(db)).toHaveLength(MIGRATION_COUNT);
  } finally {
    await db.destroy();
  }
});

test('the server runs with MySQL 8 strictness and utf8mb4', async () => {
  const db = createDatabase(config.mysql);
  try {
    const [[row]] = await db.raw('SELECT @@GLOBAL.sql_mode AS sqlMode, @@character_set_server AS charset');
    // Against Docker's mysql:8.4 these are that server's defaults, which include the same flags.
    expect(row.sqlMode).toContain('ONLY_FULL_GROUP_BY');
    expect(row.sqlMode).toContain('STRICT_TRANS_TABLES');
    expect(row.charset).toBe('utf8mb4');
  } finally {
    await db.destroy();
  }
});

describe('least privilege', () => {
  // The worker's user on a database the migration user has brought up to date.
  const worker = () => createDatabase({ ...config.mysql, database });

  beforeAll(async () => {
    const migrator = createDatabase({ ...config.mysqlMigration, database });
    await migrateToLatest(migrator).finally(() => migrator.destroy());
  });

  test('the worker\'s user reads and writes rows but may not DROP, ALTER, CREATE or GRANT', async () => {
    const db = worker();
    try {
      await assertSchemaCurrent(db);
      await db('kafka_consumer_offsets').insert({ run_id: 'least-privilege', topic: 't', partition: 0, next_offset: 1 });
      await db('kafka_consumer_offsets').where({ run_id: 'least-privilege' }).update({ next_offset: 2 });
      await db('kafka_consumer_offsets').where({ run_id: 'least-privilege' }).delete();
      await expect(db.raw('DROP TABLE customer_segments')).rejects.toThrow(/DROP command denied/);
      await expect(db.raw('ALTER TABLE customer_segments ADD COLUMN x INT')).rejects.toThrow(/ALTER command denied/);
      await expect(db.raw('CREATE TABLE sneaky (id INT)')).rejects.toThrow(/CREATE command denied/);
      await expect(db.raw('GRANT SELECT ON customer_segments TO ?@?', [config.mysql.user, '127.0.0.1'])).rejects.toThrow(/denied/);
      await expect(db.raw('TRUNCATE TABLE customer_segments')).rejects.toThrow(/DROP command denied/);
    } finally {
      await db.destroy();
    }
  });

  test('the worker refuses an outdated schema and names the command that fixes it', async () => {
    const migrator = createDatabase({ ...config.mysqlMigration, database });
    const db = worker();
    try {
      await migrator.migrate.down();
      expect(await pendingMigrations(db)).toHaveLength(1);
      await expect(assertSchemaCurrent(db)).rejects.toThrow(/not up to date.*segment migrate/);
    } finally {
      await migrateToLatest(migrator);
      await Promise.all([migrator.destroy(), db.destroy()]);
    }
  });

  test('the worker refuses a schema newer than itself (an older worker beside newer ones)', async () => {
    const migrator = createDatabase({ ...config.mysqlMigration, database });
    const db = worker();
    try {
      await migrator('knex_migrations').insert({ name: '29991231_999_from_a_later_release', batch: 99, migration_time: new Date() });
      await expect(assertSchemaCurrent(db)).rejects.toThrow(
        'the MySQL schema is newer than this release (migrations it does not know: 29991231_999_from_a_later_release): run the release that migrated it',
      );
    } finally {
      await migrator('knex_migrations').where({ name: '29991231_999_from_a_later_release' }).delete();
      await Promise.all([migrator.destroy(), db.destroy()]);
    }
  });
});
