/**
 * A MariaDB of a test's own, started the way the stack starts its server (infra/stack/mysql-server.ts)
 * in a temporary folder on a free port, for what the shared server must not be put through: TLS
 * (it runs without), or `prepare` rewriting its users.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { managedProcess, stopProcess, waitUntilReady } from '../../infra/stack/managed-process';
import { startMariadb } from '../../infra/stack/mysql-server';

export interface ThrowAwayMariadb {
  host: string;
  port: number;
  /** root without a password over this socket, as on the stack's server. */
  root(): Promise<mysql.Connection>;
  stop(): Promise<void>;
}

export async function startThrowAwayMariadb(name: string, extraArgs: string[] = []): Promise<ThrowAwayMariadb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const host = '127.0.0.1';
  const port = await freePort();
  const socketPath = path.join(dir, 'run', 'mysql.sock');
  const proc = managedProcess(dir, name);
  await startMariadb(proc, {
    dataDir: path.join(dir, 'data'),
    socketPath,
    pidFile: path.join(dir, 'mariadbd.pid'),
    host,
    port,
    bufferPool: '16M',
    extraArgs,
  });
  const root = () => mysql.createConnection({ socketPath, user: 'root' });
  // Ready once the TCP port answers a login, not after a guessed time.
  await waitUntilReady(proc, async () => (await mysql.createConnection({ host, port, user: 'root', connectTimeout: 2_000 })).end(), 60_000);
  return {
    host,
    port,
    root,
    async stop() {
      await stopProcess(proc);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
