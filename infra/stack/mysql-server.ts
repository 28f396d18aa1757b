/**
 * MariaDB from Debian's packages, with its own data folder under .stack and MySQL 8's sql_mode,
 * so GROUP BY and strictness mistakes show up locally as they would on MySQL 8. The database and
 * the application user come from MYSQL_URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { managedProcess, startDetached, type ManagedProcess } from './managed-process';
import { commandExists, runCommand } from './run-command';
import type { StackServer, StackSettings } from './stack-settings';

/** MySQL 8.4's default sql_mode. */
export const MYSQL8_SQL_MODE =
  'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

/** The worker's user: rows of its own tables and nothing else (no DDL, no GRANT). */
export const APP_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE';
const SCHEMA_PRIVILEGES = 'CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, LOCK TABLES';
/** The migrations' user: the schema of the same databases as well, still without GRANT OPTION. */
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
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
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
        const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version');
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
        await root.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
        const accounts = [
          { account: settings.mysql, privileges: APP_PRIVILEGES },
          { account: migrator, privileges: MIGRATION_PRIVILEGES },
        ];
        for (const { account, privileges } of accounts) {
          for (const clientHost of ['127.0.0.1', 'localhost', '::1']) {
            await root.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [account.user, clientHost, account.password]);
            await root.query('ALTER USER ?@? IDENTIFIED BY ?', [account.user, clientHost, account.password]);
            // Tests make throw-away databases named after the main one (e.g. segmentation_test_1).
            for (const scope of [database, `${database}\\_%`]) {
              await root.query(`GRANT ${privileges} ON ${mysql.escapeId(scope)}.* TO ?@?`, [account.user, clientHost]);
              // Stacks before least privilege gave the app user DDL as well; granted first, so it never lacks DML.
              if (privileges === APP_PRIVILEGES) {
                await root.query(`REVOKE ${SCHEMA_PRIVILEGES} ON ${mysql.escapeId(scope)}.* FROM ?@?`, [account.user, clientHost]);
              }
            }
          }
        }
      } finally {
        await root.end();
      }
    },
  };
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
    // `LOAD DATA LOCAL INFILE`, the anchor `npm run bench` holds the classify step's commits to;
    // a client still needs its own permission (mysql2's infileStreamFactory), which the worker never gives.
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
