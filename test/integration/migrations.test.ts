/** The knex migrations go up and down cleanly on the real MySQL (MariaDB with MySQL 8's sql_mode). */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { loadConfig } from '../../lib/config';
import { createDatabase, migrateToLatest } from '../../lib/database';

const config = loadConfig();
const database = `${config.mysql.database}_test_migrations_${randomBytes(3).toString('hex')}`;
const TABLES = [
  'customer_segment_history',
  'customer_segments',
  'kafka_consumer_offsets',
  'segmentation_runs',
  'staging_customer_invoices',
  'staging_purchase_counts',
];

beforeAll(async () => {
  const admin = await mysql.createConnection(config.mysql);
  await admin.query(`CREATE DATABASE ${mysql.escapeId(database)}`);
  await admin.end();
});

afterAll(async () => {
  const admin = await mysql.createConnection(config.mysql);
  await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
  await admin.end();
});

async function tables(db: ReturnType<typeof createDatabase>): Promise<string[]> {
  const [rows] = await db.raw('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [database]);
  return (rows as Array<{ name: string }>).map((row) => row.name).filter((name) => !name.startsWith('knex_')).sort();
}

test('migrations go up, are idempotent, and roll back to nothing', async () => {
  const db = createDatabase({ ...config.mysql, database });
  try {
    expect(await migrateToLatest(db)).toHaveLength(4);
    expect(await tables(db)).toEqual(TABLES);
    expect(await migrateToLatest(db)).toEqual([]);

    const [columns] = await db.raw(
      'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position',
      [database, 'customer_segments'],
    );
    expect((columns as Array<{ name: string }>).map((c) => c.name).slice(0, 3)).toEqual(['CustomerID', 'PurchaseCount', 'FrequencyCategory']);

    await db.migrate.rollback(undefined, true);
    expect(await tables(db)).toEqual([]);
    expect(await migrateToLatest(db)).toHaveLength(4);
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
