/**
 * This machine has no Docker engine, so docker-compose.yml cannot be started here; this test
 * keeps it in agreement with the local stack's defaults instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { KAFKA_VERSION } from '../../infra/stack/kafka-broker';
import { DEFAULTS, parseMysqlUrl, portOf, PROJECT_ROOT } from '../../lib/config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../lib/search-attributes';

interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
}

const compose = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const { temporal, kafka, mysql } = compose.services;
const hostPorts = (service: Service) => (service.ports ?? []).map((mapping) => Number(mapping.split(':').at(-2)));
/** `${NAME:-default}` → default, as Compose would read it with NAME unset. */
const withDefaults = (value: string) => value.replace(/\$\{\w+:-([^}]*)\}/g, '$1');

test('Temporal serves gRPC and the UI on the default ports with the search attributes', () => {
  expect(temporal.image).toMatch(/^temporalio\/temporal:/);
  expect(temporal.command?.slice(0, 2)).toEqual(['server', 'start-dev']);
  expect(hostPorts(temporal)).toEqual([portOf(DEFAULTS.TEMPORAL_ADDRESS), Number(DEFAULTS.TEMPORAL_UI_PORT)]);
  const command = (temporal.command ?? []).map(withDefaults);
  expect(command[command.indexOf('--namespace') + 1]).toBe(DEFAULTS.TEMPORAL_NAMESPACE);
  for (const key of CUSTOM_SEARCH_ATTRIBUTES) expect(command).toContain(`${key.name}=Keyword`);
});

test('Kafka is the same version, port, partitions and topic', () => {
  expect(kafka.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
  expect(hostPorts(kafka)).toEqual([portOf(DEFAULTS.KAFKA_BROKERS)]);
  expect(kafka.environment?.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${DEFAULTS.KAFKA_BROKERS}`);
  expect(String(kafka.environment?.KAFKA_NUM_PARTITIONS)).toBe(DEFAULTS.KAFKA_TOPIC_PARTITIONS);
  const createTopic = (compose.services['kafka-topic'].command ?? []).map(withDefaults);
  expect(createTopic[createTopic.indexOf('--topic') + 1]).toBe(DEFAULTS.KAFKA_TOPIC);
  expect(createTopic[createTopic.indexOf('--partitions') + 1]).toBe(DEFAULTS.KAFKA_TOPIC_PARTITIONS);
});

test('MySQL 8.4 has the database and user of the default MYSQL_URL on its port', () => {
  const url = parseMysqlUrl(DEFAULTS.MYSQL_URL);
  expect(mysql.image).toBe('mysql:8.4');
  expect(hostPorts(mysql)).toEqual([url.port]);
  expect(mysql.environment).toMatchObject({ MYSQL_DATABASE: url.database, MYSQL_USER: url.user, MYSQL_PASSWORD: url.password });
  expect(mysql.command).toContain('--character-set-server=utf8mb4');
});

test('.env.example documents every setting with its default', () => {
  const example = fs.readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8');
  for (const [name, value] of Object.entries(DEFAULTS)) {
    if (name === 'DATA_DIR' || name === 'STACK_DIR') expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    else expect(example).toMatch(new RegExp(`^${name}=${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  }
});
