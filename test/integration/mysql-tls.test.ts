/**
 * MYSQL_SSL_MODE, MYSQL_SSL_CA, MYSQL_SSL_CERT and MYSQL_SSL_KEY, through lib/database.ts, against
 * a MariaDB of the test's own that serves TLS with certificates made here by openssl (the shared
 * server runs without TLS and is not restarted for this; it serves as the server without TLS).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '../../infra/stack/run-command';
import { loadConfig } from '../../lib/config';
import { createDatabase } from '../../lib/database';
import { startThrowAwayMariadb, type ThrowAwayMariadb } from '../support/throw-away-mariadb';

jest.setTimeout(120_000);

const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mysql-tls-certs-'));
const cert = (name: string) => path.join(certDir, name);
const password = `pw-${randomBytes(12).toString('hex')}`;
let server: ThrowAwayMariadb;

/** A CA, and certificates it signs: the server's for 127.0.0.1, and a client's. */
async function makeCertificates(): Promise<void> {
  const openssl = (...args: string[]) => runCommand('openssl', args, { cwd: certDir });
  for (const ca of ['ca', 'other-ca']) {
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=segmentation test ${ca}`, '-keyout', `${ca}-key.pem`, '-out', `${ca}.pem`);
  }
  fs.writeFileSync(cert('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const [name, subject, extensions] of [['server', '/CN=127.0.0.1', ['-extfile', 'server.ext']], ['client', '/CN=segmentation-worker', []]] as const) {
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
    await openssl('x509', '-req', '-days', '1', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, ...extensions);
  }
}

beforeAll(async () => {
  await runCommand('openssl', ['version']);
  await makeCertificates();
  server = await startThrowAwayMariadb('mysql-tls', [`--ssl-ca=${cert('ca.pem')}`, `--ssl-cert=${cert('server.pem')}`, `--ssl-key=${cert('server-key.pem')}`]);
  const root = await server.root();
  try {
    await root.query('CREATE DATABASE tls_test');
    // One user that must come over TLS, one that must also show a certificate the CA signed.
    await root.query("CREATE USER 'tls_worker'@'127.0.0.1' IDENTIFIED BY ? REQUIRE SSL", [password]);
    await root.query("CREATE USER 'x509_worker'@'127.0.0.1' IDENTIFIED BY ? REQUIRE X509", [password]);
    await root.query("GRANT SELECT ON tls_test.* TO 'tls_worker'@'127.0.0.1', 'x509_worker'@'127.0.0.1'");
  } finally {
    await root.end();
  }
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(certDir, { recursive: true, force: true });
});

/** lib/database.ts's pool for these settings, as a worker would make it from its environment. */
function connect(user: string, tls: Record<string, string>, host = server.host) {
  const url = `mysql://${user}:${password}@${host}:${server.port}/tls_test`;
  const env = { MYSQL_URL: url, MYSQL_MIGRATION_URL: url, ...tls };
  return createDatabase(loadConfig(env).mysql, { max: 1 });
}

async function cipher(db: ReturnType<typeof createDatabase>): Promise<string> {
  try {
    const [[row]] = await db.raw("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
    return String(row.Value);
  } finally {
    await db.destroy();
  }
}

test('required connects over TLS without checking the certificate', async () => {
  expect(await cipher(connect('tls_worker', { MYSQL_SSL_MODE: 'required' }))).not.toBe('');
});

test('verify-ca and verify-identity check the server against MYSQL_SSL_CA, and a client certificate goes with them', async () => {
  expect(await cipher(connect('tls_worker', { MYSQL_SSL_MODE: 'verify-ca', MYSQL_SSL_CA: cert('ca.pem') }))).not.toBe('');
  const withCertificate = { MYSQL_SSL_MODE: 'verify-identity', MYSQL_SSL_CA: cert('ca.pem'), MYSQL_SSL_CERT: cert('client.pem'), MYSQL_SSL_KEY: cert('client-key.pem') };
  // verify-identity: the certificate names localhost (and 127.0.0.1, which mysql2 does not check).
  expect(await cipher(connect('x509_worker', withCertificate, 'localhost'))).not.toBe('');
  // The same user without the certificate is refused: MYSQL_SSL_CERT / MYSQL_SSL_KEY were what let it in.
  await expect(cipher(connect('x509_worker', { MYSQL_SSL_MODE: 'verify-ca', MYSQL_SSL_CA: cert('ca.pem') }))).rejects.toThrow(/Access denied/);
});

test('verify-ca refuses a server whose certificate another CA signed, saying why and nothing secret', async () => {
  const failure = cipher(connect('x509_worker', {
    MYSQL_SSL_MODE: 'verify-ca', MYSQL_SSL_CA: cert('other-ca.pem'), MYSQL_SSL_CERT: cert('client.pem'), MYSQL_SSL_KEY: cert('client-key.pem'),
  }));
  const error = (await failure.catch((caught: unknown) => caught)) as Error;
  expect(error.message).toMatch(/certificate/);
  const key = fs.readFileSync(cert('client-key.pem'), 'utf8');
  const body = key.split('\n')[1];
  for (const text of [error.message, String(error.stack), JSON.stringify(error)]) {
    expect(text).not.toContain(body);
    expect(text).not.toContain(password);
  }
});

test('required refuses a server that offers no TLS instead of falling back to plaintext', async () => {
  // The shared server runs without TLS: its default MYSQL_URL, with TLS required.
  const { mysql } = loadConfig({ ...process.env, MYSQL_SSL_MODE: 'required' });
  const db = createDatabase(mysql, { max: 1 });
  try {
    await expect(db.raw('SELECT 1')).rejects.toThrow(/does not support secure connection/);
  } finally {
    await db.destroy();
  }
});

test('contradictory settings fail at start, naming variables only', () => {
  const ca = cert('ca.pem');
  expect(() => loadConfig({ MYSQL_SSL_MODE: 'preferred' })).toThrow(/MYSQL_SSL_MODE must be one of disabled, required, verify-ca, verify-identity.*use required/);
  expect(() => loadConfig({ MYSQL_SSL_CA: ca })).toThrow(/MYSQL_SSL_CA set but MYSQL_SSL_MODE is disabled/);
  expect(() => loadConfig({ MYSQL_SSL_MODE: 'required', MYSQL_SSL_CA: ca })).toThrow(/not checked with MYSQL_SSL_MODE=required/);
  expect(() => loadConfig({ MYSQL_SSL_MODE: 'verify-ca', MYSQL_SSL_CERT: cert('client.pem') })).toThrow(/go together/);
  expect(() => loadConfig({ MYSQL_SSL_MODE: 'verify-identity', MYSQL_MIGRATION_URL: 'mysql://u:p@db.internal/segmentation' })).toThrow(/verify-identity needs MYSQL_URL to name the server by a host name/);
  expect(() => loadConfig({ MYSQL_SSL_MODE: 'verify-ca', MYSQL_SSL_KEY: cert('missing.pem') })).toThrow(/MYSQL_SSL_KEY names .*missing\.pem, which does not exist/);
  // Both connections, the worker's and the migrations', take the same TLS; the printed settings show paths, never the key.
  const config = loadConfig({ MYSQL_SSL_MODE: 'verify-ca', MYSQL_SSL_CA: ca, MYSQL_SSL_CERT: cert('client.pem'), MYSQL_SSL_KEY: cert('client-key.pem') });
  expect(config.mysqlMigration.tls).toEqual(config.mysql.tls);
  expect(JSON.stringify(config)).not.toContain('PRIVATE KEY');
});
