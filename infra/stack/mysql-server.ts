/**
 * MariaDB from Debian's packages, with its own data folder under .stack and MySQL 8's sql_mode,
 * so GROUP BY and strictness mistakes show up locally as they would on MySQL 8. The database and
 * the application user come from MYSQL_URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { processEnvironment, type MysqlSettings } from '../../lib/config';
import { grantWorkerTables, WORKER_TABLE_PRIVILEGES, workerRole } from '../../lib/worker-grants';
import { managedProcess, startDetached, type ManagedProcess } from './managed-process';
import { commandExists, runCommand } from './run-command';
import type { StackServer, StackSettings } from './stack-settings';

/** MySQL 8.4's default sql_mode. */
export const MYSQL8_SQL_MODE =
  'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

/** The worker's user: rows of its own tables and nothing else (no DDL, no GRANT). */
export const APP_PRIVILEGES = `SELECT, ${WORKER_TABLE_PRIVILEGES}`;
/** What it has on the whole database: reading; its writes come from its role, table by table (lib/worker-grants.ts). */
export const WORKER_PRIVILEGES = 'SELECT';
const SCHEMA_PRIVILEGES = 'CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, LOCK TABLES';
/** The migrations' user: the schema of the same databases as well, with GRANT OPTION for the worker's role (see prepare). */
export const MIGRATION_PRIVILEGES = `${APP_PRIVILEGES}, ${SCHEMA_PRIVILEGES}`;

export function mysqlServer(settings: StackSettings): StackServer {
  const { host, port, user, password, database } = settings.mysql;
  const migrator = settings.mysqlMigration;
  const mysqlDir = path.join(settings.stackDir, 'mysql');
  const dataDir = path.join(mysqlDir, 'data');
  const socketPath = path.join(settings.stackDir, 'run', 'mysql.sock');
  const proc = managedProcess(settings.stackDir, 'mysql');

  return {
    name: 'mysql',
    address: `${host}:${port}`,
    readyTimeoutMs: 60_000,

    async install(log) {
      if (await hasMariadb()) return;
      log('mysql: installing mariadb-server-core and mariadb-client with apt-get');
      const env = { ...processEnvironment(), DEBIAN_FRONTEND: 'noninteractive' };
      const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
      const apt = (args: string[]) => runCommand(sudo[0] ?? 'apt-get', sudo.length ? ['apt-get', ...args] : args, { env });
      await apt(['update', '-qq']);
      await apt(['install', '-y', '-qq', 'mariadb-server-core', 'mariadb-client']);
    },

    async start() {
      await startMariadb(proc, { dataDir, socketPath, pidFile: path.join(mysqlDir, 'mariadbd.pid'), host, port });
    },

    async probe() {
      const connection = await mysql.createConnection({ host, port, user, password, database, connectTimeout: 2_000 });
      try {
        const [rows] = await connection.query<mysql.RowDataPacket[]>({ sql: 'SELECT VERSION() AS version', timeout: 5_000 });
        return String(rows[0].version);
      } finally {
        await connection.end();
      }
    },

    /** Database and the two least-privilege users, through the root socket (only a stack-started server has one). */
    async prepare() {
      if (!fs.existsSync(socketPath)) return;
      const root = await mysql.createConnection({ socketPath, user: 'root' });
      try {
        await prepareDatabaseAndUsers(root, settings.mysql, migrator);
      } finally {
        await root.end();
      }
    },
  };
}

/** The hosts the local stack's users connect from: this machine only. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

/**
 * Idempotent, at every `stack up`: the database, the worker's and the migrations' users on the
 * loopback hosts only, and their grants (lib/worker-grants.ts says why the worker's are a role).
 * Brings a stack made by older code forward: the role has the existing tables' rows before the
 * worker's database-wide DML goes, and the loopback accounts exist before the '%' ones go.
 */
export async function prepareDatabaseAndUsers(root: mysql.Connection, worker: MysqlSettings, migrator: MysqlSettings): Promise<void> {
  const { database } = worker;
  // Tests make throw-away databases named after the main one (e.g. segmentation_test_1).
  const scopes = [database, `${database}\\_%`];
  const role = workerRole(worker.user);
  await root.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await root.query('CREATE ROLE IF NOT EXISTS ?', [role]);
  // The role's rows on the tables already there, before the worker loses its database-wide ones below.
  const [schemas] = await root.query<mysql.RowDataPacket[]>(
    'SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name = ? OR schema_name LIKE ?',
    scopes,
  );
  for (const { name } of schemas) await grantWorkerTables(async (sql, bindings) => (await root.query(sql, bindings))[0], name, role);

  // An older stack's worker user, with rows database-wide: its open connections have no role (see below).
  const [widerWorker] = await root.query<mysql.RowDataPacket[]>(
    "SELECT 1 FROM mysql.db WHERE User = ? AND Db IN (?, ?) AND 'Y' IN (Insert_priv, Update_priv, Delete_priv)",
    [worker.user, ...scopes],
  );

  for (const account of [worker, migrator]) {
    for (const clientHost of LOOPBACK_HOSTS) {
      await root.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [account.user, clientHost, account.password]);
      await root.query('ALTER USER ?@? IDENTIFIED BY ?', [account.user, clientHost, account.password]);
      if (account === migrator) {
        // GRANT OPTION so that the migrations give the worker's role its rows on the tables they make.
        for (const scope of scopes) {
          await root.query(`GRANT ${MIGRATION_PRIVILEGES} ON ${mysql.escapeId(scope)}.* TO ?@? WITH GRANT OPTION`, [account.user, clientHost]);
        }
        continue;
      }
      await root.query('GRANT ? TO ?@?', [role, account.user, clientHost]);
      await root.query('SET DEFAULT ROLE ? FOR ?@?', [role, account.user, clientHost]);
      for (const scope of scopes) {
        await root.query(`GRANT ${WORKER_PRIVILEGES} ON ${mysql.escapeId(scope)}.* TO ?@?`, [account.user, clientHost]);
        // Older stacks gave the worker's user DML (and before that DDL) on the whole database, which
        // reaches knex_migrations; its rows now come from the role alone.
        await root.query(`REVOKE ${WORKER_TABLE_PRIVILEGES}, ${SCHEMA_PRIVILEGES} ON ${mysql.escapeId(scope)}.* FROM ?@?`, [account.user, clientHost]);
      }
    }
    // Accounts an older stack (or a hand-made set-up) opened to other hosts ('%'): the loopback ones above replace them.
    const [others] = await root.query<mysql.RowDataPacket[]>(
      `SELECT Host AS host FROM mysql.user WHERE User = ? AND Host NOT IN (${LOOPBACK_HOSTS.map(() => '?').join(', ')})`,
      [account.user, ...LOOPBACK_HOSTS],
    );
    for (const { host } of others) await root.query('DROP USER ?@?', [account.user, host]);
  }
  if (widerWorker.length > 0) {
    // A session takes its default role at login: one opened before has none now, and a worker's
    // pool would keep it (and every write on it refused). Ended, its pool reconnects with the role,
    // as after a MySQL restart; only once, when the grants change.
    const [sessions] = await root.query<mysql.RowDataPacket[]>('SELECT id FROM information_schema.processlist WHERE user = ?', [worker.user]);
    for (const { id } of sessions) await root.query('KILL CONNECTION ?', [id]).catch(() => undefined);
  }
}

/**
 * Starts mariadbd on its own data folder (made on first start) with MySQL 8's strictness; the
 * stack's server, and the throw-away ones tests start with `extraArgs` (TLS certificates).
 */
export async function startMariadb(
  proc: ManagedProcess,
  options: { dataDir: string; socketPath: string; pidFile: string; host: string; port: number; bufferPool?: string; extraArgs?: string[] },
): Promise<number> {
  const { dataDir, socketPath } = options;
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  if (!fs.existsSync(path.join(dataDir, 'mysql'))) {
    await runCommand('mariadb-install-db', [
      '--no-defaults', ...asRoot, `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal', '--skip-test-db',
    ]);
  }
  return startDetached(proc, await mariadbd(), [
    '--no-defaults', ...asRoot,
    `--datadir=${dataDir}`,
    `--socket=${socketPath}`,
    `--pid-file=${options.pidFile}`,
    `--port=${options.port}`,
    `--bind-address=${options.host}`,
    '--skip-name-resolve',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    `--sql-mode=${MYSQL8_SQL_MODE}`,
    `--innodb-buffer-pool-size=${options.bufferPool ?? '256M'}`,
    // `LOAD DATA LOCAL INFILE`: how the classify step writes its rows (activities/write-classified-customers.ts),
    // and the anchor `npm run bench` holds it to. A client still needs its own permission: mysql2 sends
    // only the stream a query's infileStreamFactory gives, never a file the server names.
    '--local-infile=1',
    ...(options.extraArgs ?? []),
  ]);
}

async function hasMariadb(): Promise<boolean> {
  return (await commandExists('mariadb-install-db')) && fs.existsSync(await mariadbd());
}

async function mariadbd(): Promise<string> {
  for (const candidate of ['/usr/sbin/mariadbd', '/usr/bin/mariadbd', '/usr/sbin/mysqld']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return 'mariadbd';
}
