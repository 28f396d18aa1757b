/** Temporal connection settings from the environment: TLS, mTLS and an API key (a secured cluster or Temporal Cloud), and no key in sight. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { loadConfig, loadTemporalSecurity, temporalConnectionOptions } from '../../lib/config';

const API_KEY = 'tc-api-key-S3cret';

test('plain connection to the local dev server unless asked otherwise', () => {
  const config = loadConfig({});
  expect(temporalConnectionOptions(config)).toEqual({ address: '127.0.0.1:7233', tls: undefined, apiKey: undefined });
});

test('an API key goes with TLS, and is never printed', () => {
  const config = loadConfig({ TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'acme.a1b2c', TEMPORAL_API_KEY: API_KEY });
  expect(temporalConnectionOptions(config)).toEqual({
    address: 'acme.a1b2c.tmprl.cloud:7233',
    tls: { serverRootCACertificate: undefined, clientCertPair: undefined },
    apiKey: API_KEY,
  });
  expect(JSON.stringify(config)).not.toContain(API_KEY);
  expect(inspect(config, { depth: 10 })).not.toContain(API_KEY);
  expect(() => loadTemporalSecurity({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' })).toThrow(/only over TLS/);
});

test('mutual TLS reads the client certificate and key (and a CA) from the files named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-'));
  const file = (name: string) => {
    fs.writeFileSync(path.join(dir, name), `-----BEGIN ${name}-----\n`);
    return path.join(dir, name);
  };
  const env = { TEMPORAL_TLS: 'true', TEMPORAL_TLS_CERT_FILE: file('cert'), TEMPORAL_TLS_KEY_FILE: file('key'), TEMPORAL_TLS_CA_FILE: file('ca') };
  const { tls } = temporalConnectionOptions(loadConfig(env));
  expect(tls?.clientCertPair?.crt.toString()).toBe('-----BEGIN cert-----\n');
  expect(tls?.clientCertPair?.key.toString()).toBe('-----BEGIN key-----\n');
  expect(tls?.serverRootCACertificate?.toString()).toBe('-----BEGIN ca-----\n');

  expect(() => loadTemporalSecurity({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_CERT_FILE: env.TEMPORAL_TLS_CERT_FILE })).toThrow(/go together/);
  expect(() => loadTemporalSecurity({ TEMPORAL_TLS_CA_FILE: env.TEMPORAL_TLS_CA_FILE })).toThrow(/TEMPORAL_TLS is not true/);
  expect(() => loadTemporalSecurity({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_CA_FILE: path.join(dir, 'missing') })).toThrow(/does not exist/);
  expect(() => loadTemporalSecurity({ TEMPORAL_TLS: 'yes' })).toThrow(/true or false/);
  fs.rmSync(dir, { recursive: true, force: true });
});
