/**
 * What `segment stack up` makes of MySQL's users (infra/stack/mysql-server.ts prepareDatabaseAndUsers),
 * on a MariaDB of the test's own, first set up as an older stack did: users open to any host ('%'),
 * the worker's user with DML on the whole database. The shared server's users are not touched.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { LOOPBACK_HOSTS, prepareDatabaseAndUsers } from '../../infra/stack/mysql-server';
import { loadConfig, type MysqlSettings } from '../../lib/config';
import { createDatabase, migrateToLatest } from '../../lib/database';
import { TABLES } from '../../lib/tables';
import { startThrowAwayMariadb, type ThrowAwayMariadb } from '../support/throw-away-mariadb';

jest.setTimeout(120_000);

let server: ThrowAwayMariadb;
let root: mysql.Connection;
let worker: MysqlSettings;
let migrator: MysqlSettings;
const testDatabase = `segmentation_test_users_${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  server = await startThrowAwayMariadb('mysql-users');
  root = await server.root();
  // The stack's own user names and passwords, on this server's port.
  const config = loadConfig({
    MYSQL_URL: `mysql://segmentation:segmentation@127.0.0.1:${server.port}/segmentation`,
    MYSQL_MIGRATION_URL: `mysql://segmentation_migrator:segmentation_migrator@127.0.0.1:${server.port}/segmentation`,
  });
  ({ mysql: worker, mysqlMigration: migrator } = config);

  // An older stack: both users at '%', the worker's with DML database-wide, the schema migrated
  // (CREATE VIEW, which migration 016 needs, the stack has always given its migrations' user).
  await root.query('CREATE DATABASE segmentation');
  for (const [account, privileges] of [[worker, 'SELECT, INSERT, UPDATE, DELETE'], [migrator, 'SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW']] as const) {
    await root.query("CREATE USER ?@'%' IDENTIFIED BY ?", [account.user, account.password]);
    for (const scope of ['segmentation', 'segmentation\\_%']) await root.query(`GRANT ${privileges} ON ${mysql.escapeId(scope)}.* TO ?@'%'`, [account.user]);
  }
  // Its migrations' user may not grant, so migrating grants nothing and says nothing.
  await migrate(migrator.database);
  await expectWorkerCan('DELETE FROM knex_migrations WHERE 1 = 0');
});

afterAll(async () => {
  await root?.end();
  await server?.stop();
});

async function migrate(database: string): Promise<void> {
  const db = createDatabase({ ...migrator, database });
  await migrateToLatest(db, worker.user).finally(() => db.destroy());
}

async function asWorker<T>(statement: string, database = worker.database): Promise<T> {
  const db = createDatabase({ ...worker, database }, { max: 1 });
  try {
    return (await db.raw(statement))[0] as T;
  } finally {
    await db.destroy();
  }
}
const expectWorkerCan = (statement: string, database?: string) => expect(asWorker(statement, database)).resolves.toBeDefined();
const expectWorkerDenied = (statement: string, database?: string) => expect(asWorker(statement, database)).rejects.toThrow(/command denied/);

async function hosts(user: string): Promise<string[]> {
  const [rows] = await root.query<mysql.RowDataPacket[]>("SELECT Host AS host FROM mysql.user WHERE User = ? AND is_role = 'N' ORDER BY Host", [user]);
  return rows.map((row) => String(row.host));
}

test('prepare binds both users to the loopback hosts and takes knex_migrations out of the worker\'s reach', async () => {
  // A worker connected before the upgrade: its session would keep no role, so prepare ends it.
  const before = await mysql.createConnection({ host: server.host, port: server.port, user: worker.user, password: worker.password, database: worker.database });
  before.on('error', () => undefined);
  await prepareDatabaseAndUsers(root, worker, migrator);
  await expect(before.query('SELECT 1')).rejects.toThrow();
  before.destroy();
  // Idempotent: `stack up` runs it every time.
  await prepareDatabaseAndUsers(root, worker, migrator);

  for (const user of [worker.user, migrator.user]) expect(await hosts(user)).toEqual([...LOOPBACK_HOSTS].sort());

  // The worker keeps its rows on the tables the older stack had migrated...
  await expectWorkerCan(`INSERT INTO ${TABLES.consumerOffsets} (run_id, topic, \`partition\`, next_offset) VALUES ('users', 't', 0, 1)`);
  await expectWorkerCan(`UPDATE ${TABLES.consumerOffsets} SET next_offset = 2 WHERE run_id = 'users'`);
  await expectWorkerCan(`DELETE FROM ${TABLES.consumerOffsets} WHERE run_id = 'users'`);
  // ...reads which migrations ran (assertSchemaCurrent), and may change none of knex's rows.
  await expectWorkerCan('SELECT name FROM knex_migrations');
  await expectWorkerDenied('DELETE FROM knex_migrations');
  await expectWorkerDenied("INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('x', 99, NOW())");
  await expectWorkerDenied('UPDATE knex_migrations SET batch = 0');
  await expectWorkerDenied('DELETE FROM knex_migrations_lock');
  await expectWorkerDenied('UPDATE knex_migrations_lock SET is_locked = 1');
});

test('a database migrated afterwards (a test file\'s own) gives the worker its rows there too, and only those', async () => {
  const admin = await mysql.createConnection({ host: server.host, port: server.port, user: migrator.user, password: migrator.password });
  await admin.query(`CREATE DATABASE ${mysql.escapeId(testDatabase)}`);
  await admin.end();
  await migrate(testDatabase);

  await expectWorkerCan(`INSERT INTO ${TABLES.consumerOffsets} (run_id, topic, \`partition\`, next_offset) VALUES ('users', 't', 0, 1)`, testDatabase);
  await expectWorkerCan(`DELETE FROM ${TABLES.consumerOffsets} WHERE run_id = 'users'`, testDatabase);
  await expectWorkerDenied('DELETE FROM knex_migrations', testDatabase);
  await expectWorkerDenied('DROP TABLE customer_segments', testDatabase);
  const [grants] = await root.query<mysql.RowDataPacket[]>('SHOW GRANTS FOR ?@?', [worker.user, '127.0.0.1']);
  expect(grants.map((row) => Object.values(row)[0]).join('\n')).not.toMatch(/INSERT|UPDATE|DELETE/);
});
