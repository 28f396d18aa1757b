/** Kafka settings from the environment: the local cluster's addresses, SASL and TLS, and no secret in sight. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { kafkaProperties } from '../../infra/stack/kafka-properties';
import { loadStackSettings } from '../../infra/stack/stack-settings';
import { loadConfig, loadKafkaSecurity } from '../../lib/config';

const PASSWORD = 'n1ghtly-S3cret';

test('one broker by default; with KAFKA_BROKER_COUNT=3 clients bootstrap from all three local brokers', () => {
  expect(loadConfig({}).kafkaBrokers).toEqual(['127.0.0.1:9092']);
  expect(loadConfig({ KAFKA_BROKER_COUNT: '3' }).kafkaBrokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9095', '127.0.0.1:9098']);
  // A list given in full is used as it is.
  expect(loadConfig({ KAFKA_BROKER_COUNT: '3', KAFKA_BROKERS: 'a:1,b:2' }).kafkaBrokers).toEqual(['a:1', 'b:2']);
});

test('the local cluster lays its brokers out three ports apart', () => {
  const { nodes } = loadStackSettings({ KAFKA_BROKER_COUNT: '3', KAFKA_BROKERS: '127.0.0.1:19092', KAFKA_CONTROLLER_PORT: '19093' }).kafka;
  expect(nodes.map(({ name, clientPort, controllerPort, saslPort }) => [name, clientPort, controllerPort, saslPort])).toEqual([
    ['kafka-1', 19092, 19093, 19094],
    ['kafka-2', 19095, 19096, 19097],
    ['kafka-3', 19098, 19099, 19100],
  ]);
  expect(loadStackSettings({}).kafka.nodes.map((node) => node.name)).toEqual(['kafka']);
  expect(() => loadStackSettings({ KAFKA_BROKER_COUNT: '2', KAFKA_SASL_PORT: '9095' })).toThrow(/port 9095 twice/);
});

test('no SASL and no TLS unless asked for', () => {
  expect(loadKafkaSecurity({})).toEqual({});
  expect(loadKafkaSecurity({ KAFKA_SSL: 'false', KAFKA_SASL_MECHANISM: '' })).toEqual({});
});

test('SASL settings are read, checked, and the password never printed', () => {
  const env = { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'etl', KAFKA_SASL_PASSWORD: PASSWORD };
  const { sasl } = loadKafkaSecurity(env);
  expect(sasl?.mechanism).toBe('scram-sha-512');
  expect(sasl?.username).toBe('etl');
  expect(sasl?.password.reveal()).toBe(PASSWORD);

  const config = loadConfig(env);
  for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.kafkaSecurity.sasl?.password)]) {
    expect(shown).not.toContain(PASSWORD);
  }

  expect(() => loadKafkaSecurity({ KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(/KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512/);
  expect(() => loadKafkaSecurity({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: PASSWORD })).toThrow(/KAFKA_SASL_USERNAME must be too/);
  expect(() => loadKafkaSecurity({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'etl' })).toThrow(/KAFKA_SASL_PASSWORD must be too/);
});

test('TLS settings name PEM files that must exist, and only with KAFKA_SSL=true', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-tls-'));
  try {
    const ca = path.join(dir, 'ca.pem');
    const cert = path.join(dir, 'client.pem');
    const key = path.join(dir, 'client-key.pem');
    for (const file of [ca, cert, key]) fs.writeFileSync(file, 'PEM');

    expect(loadKafkaSecurity({ KAFKA_SSL: 'true' })).toEqual({ ssl: {} });
    expect(loadKafkaSecurity({ KAFKA_SSL: 'TRUE', KAFKA_SSL_CA_FILE: ca, KAFKA_SSL_CERT_FILE: cert, KAFKA_SSL_KEY_FILE: key })).toEqual({
      ssl: { caFile: ca, certFile: cert, keyFile: key },
    });
    expect(() => loadKafkaSecurity({ KAFKA_SSL: 'yes' })).toThrow(/KAFKA_SSL must be true or false/);
    expect(() => loadKafkaSecurity({ KAFKA_SSL_CA_FILE: ca })).toThrow(/KAFKA_SSL_CA_FILE set but KAFKA_SSL is not true/);
    expect(() => loadKafkaSecurity({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: cert })).toThrow(/set both or neither/);
    expect(() => loadKafkaSecurity({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: path.join(dir, 'missing.pem') })).toThrow(
      /KAFKA_SSL_CA_FILE names .*missing.pem, which does not exist/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the local broker refuses a password it could not quote, without printing it', () => {
  const settings = loadStackSettings({ KAFKA_SASL_USERNAME: 'etl', KAFKA_SASL_PASSWORD: 'has"quote' });
  expect(settings.kafka.saslUser.username).toBe('etl');
  let message = '';
  try {
    kafkaProperties(settings, settings.kafka.nodes[0], '/tmp/data');
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(/KAFKA_SASL_PASSWORD may not contain quotes/);
  expect(message).not.toContain('has"quote');
});

test('KAFKA_COMPRESSION: none by default, lz4 or gzip if asked, anything else refused at start', () => {
  expect(loadConfig({}).kafkaCompression).toBe('none');
  expect(loadConfig({ KAFKA_COMPRESSION: 'lz4' }).kafkaCompression).toBe('lz4');
  expect(loadConfig({ KAFKA_COMPRESSION: ' GZIP ' }).kafkaCompression).toBe('gzip');
  expect(() => loadConfig({ KAFKA_COMPRESSION: 'zstd' })).toThrow('KAFKA_COMPRESSION must be one of none, gzip, lz4');
});
