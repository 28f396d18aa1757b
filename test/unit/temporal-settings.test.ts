/**
 * Temporal connection settings, read through @temporalio/envconfig: the standard variables, the
 * project's older TEMPORAL_TLS_*_FILE names, a TOML profile file, and which wins; TLS, mTLS and an
 * API key (a secured cluster or Temporal Cloud), and no key in sight.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadConfig, temporalConnectionOptions } from '../../lib/config';
import { loadTemporalSettings } from '../../lib/temporal-settings';

const API_KEY = 'tc-api-key-S3cret';
const KEY_PEM = '-----BEGIN PRIVATE KEY-----\nS3cretKeyBody\n-----END PRIVATE KEY-----\n';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-settings-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A file in the test's folder, its contents naming it, so a test can tell which file was read. */
function file(name: string, contents = `-----BEGIN ${name}-----\n`): string {
  fs.writeFileSync(path.join(dir, name), contents);
  return path.join(dir, name);
}

function tlsOf(env: Record<string, string>): TLSConfig {
  const { tls } = temporalConnectionOptions(loadConfig(env));
  if (typeof tls !== 'object' || tls === null) throw new Error(`expected a TLS configuration, got ${String(tls)}`);
  return tls;
}

/** A profile file with two profiles: the one read by default, and "cloud". */
function profileFile(): string {
  return file(
    'temporal.toml',
    [
      '[profile.default]',
      'address = "profile-default.example:7233"',
      'namespace = "from-default-profile"',
      '',
      '[profile.cloud]',
      'address = "acme.a1b2c.tmprl.cloud:7233"',
      'namespace = "acme.a1b2c"',
      `api_key = "${API_KEY}"`,
      '[profile.cloud.tls]',
      `server_ca_cert_path = "${path.join(dir, 'profile-ca')}"`,
      '[profile.cloud.grpc_meta]',
      'x-tenant = "acme"',
      '',
    ].join('\n'),
  );
}

test('plain connection to the local dev server unless asked otherwise', () => {
  const config = loadConfig({});
  expect(config).toMatchObject({ temporalAddress: '127.0.0.1:7233', temporalNamespace: 'default', temporalUiUrl: 'http://127.0.0.1:8233' });
  expect(temporalConnectionOptions(config)).toEqual({ address: '127.0.0.1:7233', tls: undefined, apiKey: undefined, metadata: undefined });
  // Blank is unset, as for every other setting.
  expect(loadConfig({ TEMPORAL_ADDRESS: ' ', TEMPORAL_NAMESPACE: '', TEMPORAL_TLS: '' }).temporalAddress).toBe('127.0.0.1:7233');
});

test('an API key goes with TLS, and is never printed', () => {
  const config = loadConfig({ TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'acme.a1b2c', TEMPORAL_API_KEY: API_KEY });
  expect(temporalConnectionOptions(config)).toEqual({
    address: 'acme.a1b2c.tmprl.cloud:7233',
    tls: { serverNameOverride: undefined, serverRootCACertificate: undefined, clientCertPair: undefined },
    apiKey: API_KEY,
    metadata: undefined,
  });
  expect(config.temporalUiUrl).toBe('http://acme.a1b2c.tmprl.cloud:8233');
  expect(JSON.stringify(config)).not.toContain(API_KEY);
  expect(inspect(config, { depth: 10 })).not.toContain(API_KEY);
  expect(() => loadConfig({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' })).toThrow(/only over TLS/);
});

test('mutual TLS reads the client certificate and key (and a CA) from the files the older names give', () => {
  const env = { TEMPORAL_TLS: 'true', TEMPORAL_TLS_CERT_FILE: file('cert'), TEMPORAL_TLS_KEY_FILE: file('key'), TEMPORAL_TLS_CA_FILE: file('ca') };
  const tls = tlsOf(env);
  expect(Buffer.from(tls.clientCertPair!.crt).toString()).toBe('-----BEGIN cert-----\n');
  expect(Buffer.from(tls.clientCertPair!.key).toString()).toBe('-----BEGIN key-----\n');
  expect(Buffer.from(tls.serverRootCACertificate!).toString()).toBe('-----BEGIN ca-----\n');

  expect(() => loadConfig({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_CERT_FILE: env.TEMPORAL_TLS_CERT_FILE })).toThrow(
    /TEMPORAL_TLS_CERT_FILE is set but not TEMPORAL_TLS_CLIENT_KEY_PATH: a client certificate and its key go together/,
  );
  expect(() => loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA_FILE: env.TEMPORAL_TLS_CA_FILE })).toThrow(/TEMPORAL_TLS_CA_FILE set but TLS is off \(TEMPORAL_TLS=false/);
  expect(() => loadConfig({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_CA_FILE: path.join(dir, 'missing') })).toThrow(/TEMPORAL_TLS_CA_FILE names .*missing, which does not exist/);
  expect(() => loadConfig({ TEMPORAL_TLS: 'yes' })).toThrow(/TEMPORAL_TLS must be true or false/);
  // As in envconfig (and a profile's [tls] table), a certificate alone turns TLS on.
  expect(Buffer.from(tlsOf({ TEMPORAL_TLS_CA_FILE: env.TEMPORAL_TLS_CA_FILE }).serverRootCACertificate!).toString()).toBe('-----BEGIN ca-----\n');
  expect(tlsOf({ TEMPORAL_TLS: 'TRUE' })).toEqual({ serverNameOverride: undefined, serverRootCACertificate: undefined, clientCertPair: undefined });
});

test('the standard variable wins over its older name when both are set', () => {
  const tls = tlsOf({
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('standard-ca'),
    TEMPORAL_TLS_CA_FILE: file('alias-ca'),
    TEMPORAL_TLS_CLIENT_CERT_PATH: file('standard-cert'),
    TEMPORAL_TLS_CERT_FILE: file('alias-cert'),
    TEMPORAL_TLS_CLIENT_KEY_PATH: file('standard-key'),
    TEMPORAL_TLS_KEY_FILE: file('alias-key'),
    TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
  });
  expect(Buffer.from(tls.serverRootCACertificate!).toString()).toBe('-----BEGIN standard-ca-----\n');
  expect(Buffer.from(tls.clientCertPair!.crt).toString()).toBe('-----BEGIN standard-cert-----\n');
  expect(Buffer.from(tls.clientCertPair!.key).toString()).toBe('-----BEGIN standard-key-----\n');
  expect(tls.serverNameOverride).toBe('frontend.internal');
  // Standard and older names mix: the key from the one, the certificate from the other.
  const mixed = tlsOf({ TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'standard-cert'), TEMPORAL_TLS_KEY_FILE: path.join(dir, 'alias-key') });
  expect(Buffer.from(mixed.clientCertPair!.key).toString()).toBe('-----BEGIN alias-key-----\n');
});

test('certificates and keys given as text (*_DATA) are used, and never printed', () => {
  const env = { TEMPORAL_TLS_CLIENT_CERT_DATA: '-----BEGIN CERTIFICATE-----\n', TEMPORAL_TLS_CLIENT_KEY_DATA: KEY_PEM };
  const config = loadConfig(env);
  expect(Buffer.from(tlsOf(env).clientCertPair!.key).toString()).toBe(KEY_PEM);
  expect(JSON.stringify(config)).not.toContain('S3cretKeyBody');
  expect(inspect(config, { depth: 10 })).not.toContain('S3cretKeyBody');
});

test('the profile file: its default profile, TEMPORAL_PROFILE to pick another, the variables over it', () => {
  file('profile-ca');
  const TEMPORAL_CONFIG_FILE = profileFile();
  // The default profile, unless TEMPORAL_PROFILE names another.
  expect(loadConfig({ TEMPORAL_CONFIG_FILE })).toMatchObject({ temporalAddress: 'profile-default.example:7233', temporalNamespace: 'from-default-profile' });
  const cloud = loadConfig({ TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE: 'cloud' });
  expect(cloud).toMatchObject({ temporalAddress: 'acme.a1b2c.tmprl.cloud:7233', temporalNamespace: 'acme.a1b2c' });
  expect(temporalConnectionOptions(cloud)).toMatchObject({ apiKey: API_KEY, metadata: { 'x-tenant': 'acme' } });
  expect(Buffer.from((temporalConnectionOptions(cloud).tls as TLSConfig).serverRootCACertificate!).toString()).toBe('-----BEGIN profile-ca-----\n');
  expect(inspect(cloud, { depth: 10 })).not.toContain(API_KEY);

  // A variable, standard or older name, wins over the profile; the rest of the profile stays.
  const overridden = loadConfig({ TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE: 'cloud', TEMPORAL_NAMESPACE: 'acme.staging', TEMPORAL_TLS_CA_FILE: file('alias-ca') });
  expect(overridden).toMatchObject({ temporalAddress: 'acme.a1b2c.tmprl.cloud:7233', temporalNamespace: 'acme.staging' });
  expect(Buffer.from((temporalConnectionOptions(overridden).tls as TLSConfig).serverRootCACertificate!).toString()).toBe('-----BEGIN alias-ca-----\n');
  const both = loadTemporalSettings({ TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE: 'cloud', TEMPORAL_TLS_CA_FILE: path.join(dir, 'alias-ca'), TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'profile-ca') });
  expect(both.tls?.serverCaCert).toEqual({ file: path.join(dir, 'profile-ca') });
});

test('the profile file is read only when asked for (TEMPORAL_PROFILE), from where the temporal CLI keeps it', () => {
  fs.mkdirSync(path.join(dir, 'temporalio'));
  fs.writeFileSync(path.join(dir, 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "from-xdg.example:7233"\nnamespace = "payments-prod"\n');
  // A personal profile on the machine never redirects the worker, the stack or the tests unasked.
  expect(loadConfig({ XDG_CONFIG_HOME: dir })).toMatchObject({ temporalAddress: '127.0.0.1:7233', temporalNamespace: 'default' });
  expect(loadConfig({ XDG_CONFIG_HOME: dir, TEMPORAL_PROFILE: 'default' }).temporalAddress).toBe('from-xdg.example:7233');
  // Asked for, but there is no such profile: an error naming it, not a silent default.
  expect(() => loadConfig({ XDG_CONFIG_HOME: path.join(dir, 'empty'), TEMPORAL_PROFILE: 'default' })).toThrow(/Profile 'default' not found/);
});

test('a profile file that is missing, misspelt or unknown fails at start, quoting no secret', () => {
  expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: path.join(dir, 'missing.toml') })).toThrow(/TEMPORAL_CONFIG_FILE names .*missing\.toml, which does not exist/);
  file('profile-ca');
  expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: profileFile(), TEMPORAL_PROFILE: 'prod' })).toThrow(/Profile 'prod' not found/);
  const misspelt = file('misspelt.toml', '[profile.default]\nadress = "x:7233"\n');
  expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: misspelt })).toThrow(/unrecognized in profile.default: adress/);
  const broken = file('broken.toml', `[profile.default]\napi_key = "${API_KEY}\n`);
  let message = '';
  try {
    loadConfig({ TEMPORAL_CONFIG_FILE: broken });
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(/Temporal connection settings: Invalid TOML document.*\(line 2, column \d+\)/);
  expect(message).not.toContain('S3cret');
  const missingCert = file('missing-cert.toml', `[profile.default.tls]\nclient_cert_path = "${path.join(dir, 'nope')}"\nclient_key_path = "${path.join(dir, 'nope')}"\n`);
  expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: missingCert })).toThrow(/tls\.client_cert_path of the Temporal profile names .*nope, which does not exist/);
});
