/**
 * Every setting comes from the environment, and this is the one module that reads it
 * (process.env): the others take an environment as an argument (the local stack's own settings,
 * infra/stack/stack-settings.ts; the Temporal connection, lib/temporal-settings.ts). The defaults
 * are the ones docs/configuration.md, .env.example and docker-compose.yml document. Nothing here logs a secret.
 */
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { localBrokerAddresses } from './local-kafka-ports';
import { DEFAULT_WORKBOOK_LIMITS, type WorkbookLimits } from './workbook/workbook-limits';
import { Secret } from './secret';
import { connectionOptions, loadTemporalSettings, TEMPORAL_DEFAULTS, type Environment, type TemporalSettings } from './temporal-settings';

export type { Environment } from './temporal-settings';

// This file runs as lib/config.ts (tests) or compiled as dist/lib/config.js: the root is the folder with package.json.
export const PROJECT_ROOT = path.resolve(__dirname, fs.existsSync(path.join(__dirname, '..', 'package.json')) ? '..' : '../..');

export interface MysqlSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** TLS (MYSQL_SSL_MODE other than disabled), the same for the worker's and the migrations' connection. */
  tls?: MysqlTls;
}

export interface AppConfig {
  /** TEMPORAL_ADDRESS, or the profile's address (lib/temporal-settings.ts). */
  temporalAddress: string;
  temporalNamespace: string;
  /** TLS, an API key and gRPC headers for Temporal (a secured cluster, Temporal Cloud); none for the local dev server. */
  temporalSecurity: TemporalSecurity;
  /** Where links to the Temporal Web UI point: http://TEMPORAL_ADDRESS's host:TEMPORAL_UI_PORT. */
  temporalUiUrl: string;
  taskQueue: string;
  kafkaBrokers: string[];
  kafkaTopic: string;
  kafkaTopicPartitions: number;
  /** KAFKA_COMPRESSION: how the publish step compresses its record batches (`none`, `gzip`, `lz4`). */
  kafkaCompression: KafkaCompression;
  /** The worker's connection: SELECT, INSERT, UPDATE and DELETE on its own tables, nothing more. */
  mysql: MysqlSettings;
  /** The migrations' connection (CREATE, ALTER, DROP, INDEX on the same database). */
  mysqlMigration: MysqlSettings;
  /** MYSQL_LOCAL_INFILE: `auto`, classify writes with LOAD DATA LOCAL INFILE where the server allows it; `off`, always with INSERT. */
  mysqlLocalInfile: MysqlLocalInfile;
  /** The only folder workbooks are read from. */
  dataDir: string;
  retention: StagingRetention;
  /** What one run may read over all its workbooks and sheets together (WORKBOOK_MAX_ROWS, WORKBOOK_MAX_DECOMPRESSED_BYTES). */
  runLimits: RunLimits;
  /** SASL and TLS for every Kafka client; empty when the brokers take plaintext connections. */
  kafkaSecurity: KafkaSecurity;
  /** Where a worker serves Prometheus metrics (METRICS_ADDRESS, "ip:port"); null when it is `off`. */
  metricsAddress: string | null;
  /** How often the elected worker reads the database gauges from MySQL (METRICS_DATABASE_REFRESH_SECONDS). */
  databaseGaugesEverySeconds: number;
  /** Where runs that need an operator, failed runs and (if asked) published runs are posted (NOTIFY_*). */
  notifications: NotificationSettings;
  /**
   * The Worker Deployment Version this worker is (TEMPORAL_DEPLOYMENT_NAME, TEMPORAL_WORKER_BUILD_ID):
   * runs are pinned to the version they started on. Undefined when TEMPORAL_WORKER_BUILD_ID is
   * unset: an unversioned worker, as before, which needs no `set-current-version` (docs/upgrading.md).
   */
  workerVersion?: WorkerVersion;
}

/** A Worker Deployment Version, as Temporal names it (`deploymentName.buildId` in the CLI and the UI). */
export interface WorkerVersion {
  deploymentName: string;
  buildId: string;
}

export type TemporalSecurity = Pick<TemporalSettings, 'tls' | 'apiKey' | 'grpcMeta'>;

/** The workbook limits that hold for a whole run, not each sheet alone. */
export type RunLimits = Pick<WorkbookLimits, 'maxRows' | 'maxDecompressedBytes'>;

/** How long runs keep their staging rows (what a retry or reset of a step reads). */
export interface StagingRetention {
  /** Completed and superseded runs: the newest this many keep theirs, so they can be reset to any step. */
  keepFinishedRuns: number;
  /** Failed and cancelled runs keep theirs this long after they ended, for an operator to retry or reset them. */
  keepFailedHours: number;
}

/**
 * The app's settings and their defaults. The local stack's own (STACK_DIR, ports) are in
 * infra/stack/stack-settings.ts; TEMPORAL_UI_PORT and KAFKA_BROKER_COUNT are read by both.
 */
export const DEFAULTS = {
  ...TEMPORAL_DEFAULTS,
  TEMPORAL_TASK_QUEUE: 'customer-segmentation',
  /** The Web UI's port on TEMPORAL_ADDRESS's host: where the CLI's links point, and where the local stack serves it. */
  TEMPORAL_UI_PORT: '8233',
  KAFKA_BROKERS: '127.0.0.1:9092',
  KAFKA_TOPIC: 'purchase-frequency',
  KAFKA_TOPIC_PARTITIONS: '6',
  /** The publish step's record batches: `none` spends the least CPU a message (docs/performance.md, "The publish step"); `lz4` a sixth of the bytes. */
  KAFKA_COMPRESSION: 'none',
  MYSQL_URL: 'mysql://segmentation:segmentation@127.0.0.1:3306/segmentation',
  /** The migrations' user: DDL rights on the same database. The worker's MYSQL_URL user has DML only. */
  MYSQL_MIGRATION_URL: 'mysql://segmentation_migrator:segmentation_migrator@127.0.0.1:3306/segmentation',
  DATA_DIR: path.join(PROJECT_ROOT, 'data'),
  STAGING_KEEP_FINISHED_RUNS: '3',
  STAGING_KEEP_FAILED_HOURS: '168',
  /** Brokers the local stack runs; with more than one, clients bootstrap from all of them. */
  KAFKA_BROKER_COUNT: '1',
  KAFKA_SSL: 'false',
  WORKBOOK_MAX_ROWS: String(DEFAULT_WORKBOOK_LIMITS.maxRows),
  WORKBOOK_MAX_DECOMPRESSED_BYTES: String(DEFAULT_WORKBOOK_LIMITS.maxDecompressedBytes),
  MYSQL_SSL_MODE: 'disabled',
  /** `auto`: the classify step streams its rows with LOAD DATA LOCAL INFILE when the server's local_infile is on; `off`: INSERT always. */
  MYSQL_LOCAL_INFILE: 'auto',
  /** A worker's Prometheus endpoint (/metrics): the SDK's temporal_ metrics and the pipeline's segmentation_ ones. `off` serves none. */
  METRICS_ADDRESS: '127.0.0.1:9464',
  /** Seconds between two reads of the database gauges (1 to 30: the gauges' MySQL lock session lapses after 60 s of silence). */
  METRICS_DATABASE_REFRESH_SECONDS: '15',
  /** How a notification's body is shaped: `json` (the event as it is) or `slack` (an incoming webhook's text and blocks). */
  NOTIFY_WEBHOOK_FORMAT: 'json',
  /** Events posted besides the ones always posted when NOTIFY_WEBHOOK_URL is set (awaiting-operator, held, failed): none. */
  NOTIFY_ON: '',
  /** The Worker Deployment a versioned worker belongs to (the name Temporal's worker controller injects); used only with TEMPORAL_WORKER_BUILD_ID. */
  TEMPORAL_DEPLOYMENT_NAME: 'customer-segmentation',
} as const;

type SettingName = keyof typeof DEFAULTS;

/** The process's environment, for a module that takes one (the local stack's settings, a child process): read here only. */
export function processEnvironment(): Environment {
  return process.env;
}

export function setting(name: SettingName, env: Environment = process.env): string {
  const value = env[name]?.trim();
  return value ? value : DEFAULTS[name];
}

export function loadConfig(env: Environment = process.env): AppConfig {
  const { address, namespace, ...temporalSecurity } = loadTemporalSettings(env);
  return {
    temporalAddress: address,
    temporalNamespace: namespace,
    temporalSecurity,
    temporalUiUrl: `http://${hostOf(address)}:${positiveInteger('TEMPORAL_UI_PORT', env)}`,
    taskQueue: setting('TEMPORAL_TASK_QUEUE', env),
    kafkaBrokers: kafkaBrokerAddresses(env),
    kafkaTopic: setting('KAFKA_TOPIC', env),
    kafkaTopicPartitions: positiveInteger('KAFKA_TOPIC_PARTITIONS', env),
    kafkaCompression: kafkaCompression(env),
    mysql: withTls(parseMysqlUrl(setting('MYSQL_URL', env)), loadMysqlTls(env), 'MYSQL_URL'),
    mysqlMigration: withTls(parseMysqlUrl(setting('MYSQL_MIGRATION_URL', env)), loadMysqlTls(env), 'MYSQL_MIGRATION_URL'),
    mysqlLocalInfile: mysqlLocalInfile(env),
    dataDir: path.resolve(setting('DATA_DIR', env)),
    retention: {
      keepFinishedRuns: positiveInteger('STAGING_KEEP_FINISHED_RUNS', env),
      keepFailedHours: positiveInteger('STAGING_KEEP_FAILED_HOURS', env),
    },
    runLimits: {
      maxRows: positiveInteger('WORKBOOK_MAX_ROWS', env),
      maxDecompressedBytes: positiveInteger('WORKBOOK_MAX_DECOMPRESSED_BYTES', env),
    },
    kafkaSecurity: loadKafkaSecurity(env),
    metricsAddress: parseMetricsAddress(setting('METRICS_ADDRESS', env)),
    databaseGaugesEverySeconds: databaseGaugesEverySeconds(env),
    notifications: loadNotificationSettings(env),
    ...loadWorkerVersion(env),
  };
}

/**
 * METRICS_ADDRESS as the SDK's Prometheus exporter binds it: an IP address and a port
 * (127.0.0.1:9464, 0.0.0.0:9464, [::]:9464), or `off`. The exporter takes no host name, so
 * `localhost` is refused here with the fix, not deep in the SDK with "invalid socket address".
 */
export function parseMetricsAddress(value: string): string | null {
  if (value.toLowerCase() === 'off') return null;
  const refuse = (why: string) =>
    new Error(`METRICS_ADDRESS must be IP:PORT (e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::]:9464) or off; "${value}" ${why}`);
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(value);
  if (!match) throw refuse('is not of that form');
  const [, ipv6, ipv4, port] = match;
  if (ipv6 !== undefined ? isIP(ipv6) !== 6 : isIP(ipv4) !== 4) {
    throw refuse(ipv4 === 'localhost' ? 'names a host: use 127.0.0.1' : 'does not start with an IP address');
  }
  const portNumber = Number(port);
  if (portNumber < 1 || portNumber > 65_535) throw refuse('has no port between 1 and 65535');
  return value;
}

/**
 * Worker Versioning is on when TEMPORAL_WORKER_BUILD_ID is set (Temporal's worker controller sets
 * it, with TEMPORAL_DEPLOYMENT_NAME). Unset, the worker is unversioned: a versioned worker gets no
 * task until someone makes its version current, which a fresh `npm start` must not need.
 */
function loadWorkerVersion(env: Environment): { workerVersion?: WorkerVersion } {
  const buildId = optionalSetting('TEMPORAL_WORKER_BUILD_ID', env);
  if (buildId === undefined) return {};
  const deploymentName = setting('TEMPORAL_DEPLOYMENT_NAME', env);
  // Temporal joins the two with a dot into the version's name (deploymentName.buildId): a dot in the name would make it ambiguous.
  if (deploymentName.includes('.')) throw new Error('TEMPORAL_DEPLOYMENT_NAME must not contain a dot');
  return { workerVersion: { deploymentName, buildId } };
}

export function parseMysqlUrl(url: string): MysqlSettings {
  const parsed = new URL(url);
  if (parsed.protocol !== 'mysql:') throw new Error('MYSQL_URL must start with mysql://');
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: parsed.pathname.replace(/^\//, ''),
  };
}

/** How the classify step writes its rows (activities/write-classified-customers.ts). */
export const MYSQL_LOCAL_INFILE_VALUES = ['auto', 'off'] as const;
export type MysqlLocalInfile = (typeof MYSQL_LOCAL_INFILE_VALUES)[number];

/** The codecs the publish step can compress with: kafkajs's own gzip, and LZ4 through lz4-napi (lib/kafka-compression.ts). */
export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'lz4'] as const;
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

function kafkaCompression(env: Environment): KafkaCompression {
  const value = setting('KAFKA_COMPRESSION', env).toLowerCase() as KafkaCompression;
  if (!KAFKA_COMPRESSIONS.includes(value)) throw new Error(`KAFKA_COMPRESSION must be one of ${KAFKA_COMPRESSIONS.join(', ')}`);
  return value;
}

function mysqlLocalInfile(env: Environment): MysqlLocalInfile {
  const value = setting('MYSQL_LOCAL_INFILE', env).toLowerCase() as MysqlLocalInfile;
  if (!MYSQL_LOCAL_INFILE_VALUES.includes(value)) throw new Error(`MYSQL_LOCAL_INFILE must be one of ${MYSQL_LOCAL_INFILE_VALUES.join(', ')}`);
  return value;
}

/**
 * MySQL's own --ssl-mode values, less PREFERRED: a connection that falls back to plaintext when
 * the server offers no TLS guarantees nothing, so it is not offered.
 *   required         TLS or no connection; the server's certificate is not checked
 *   verify-ca        and it must be signed by MYSQL_SSL_CA (or a public CA when that is unset)
 *   verify-identity  and it must name the host MYSQL_URL connects to (a host name: mysql2 checks no IP address)
 */
export const MYSQL_SSL_MODES = ['disabled', 'required', 'verify-ca', 'verify-identity'] as const;
export type MysqlSslMode = (typeof MYSQL_SSL_MODES)[number];

/** PEM files, by path: read when a connection pool is made, never logged. */
export interface MysqlTls {
  mode: Exclude<MysqlSslMode, 'disabled'>;
  caFile?: string;
  /** A client certificate and its key, for users created with REQUIRE X509 (or SUBJECT/ISSUER). */
  certFile?: string;
  keyFile?: string;
}

/** Reads MYSQL_SSL_MODE, MYSQL_SSL_CA, MYSQL_SSL_CERT and MYSQL_SSL_KEY; a contradictory set fails here, naming variables only. */
export function loadMysqlTls(env: Environment = process.env): MysqlTls | undefined {
  const mode = setting('MYSQL_SSL_MODE', env).toLowerCase() as MysqlSslMode;
  if (!MYSQL_SSL_MODES.includes(mode)) {
    const hint = mode === ('preferred' as string) ? ' (preferred may fall back to plaintext: use required)' : '';
    throw new Error(`MYSQL_SSL_MODE must be one of ${MYSQL_SSL_MODES.join(', ')}${hint}`);
  }
  const files = {
    caFile: optionalFile('MYSQL_SSL_CA', env),
    certFile: optionalFile('MYSQL_SSL_CERT', env),
    keyFile: optionalFile('MYSQL_SSL_KEY', env),
  };
  const given = Object.entries({ MYSQL_SSL_CA: files.caFile, MYSQL_SSL_CERT: files.certFile, MYSQL_SSL_KEY: files.keyFile })
    .filter(([, file]) => file !== undefined)
    .map(([name]) => name);
  if (mode === 'disabled') {
    if (given.length) throw new Error(`${given.join(', ')} set but MYSQL_SSL_MODE is disabled`);
    return undefined;
  }
  if (Boolean(files.certFile) !== Boolean(files.keyFile)) throw new Error('MYSQL_SSL_CERT and MYSQL_SSL_KEY go together: set both or neither');
  // As MySQL's clients warn: a CA that is not checked only looks like protection.
  if (mode === 'required' && files.caFile) throw new Error('MYSQL_SSL_CA is not checked with MYSQL_SSL_MODE=required: use verify-ca or verify-identity');
  return { mode, ...Object.fromEntries(Object.entries(files).filter(([, file]) => file !== undefined)) };
}

function withTls(settings: MysqlSettings, tls: MysqlTls | undefined, name: string): MysqlSettings {
  // mysql2 checks the certificate's names only for a host name; for an IP address it would check "localhost".
  if (tls?.mode === 'verify-identity' && isIP(settings.host)) {
    throw new Error(`MYSQL_SSL_MODE=verify-identity needs ${name} to name the server by a host name its certificate carries, not an IP address (or use verify-ca)`);
  }
  // No `tls` key at all when disabled: the settings are spread into mysql2's options in places.
  return tls ? { ...settings, tls } : settings;
}

/** What mysql2 takes for these settings: the certificates read now, the key handed over only here. */
export function mysqlConnectionOptions(settings: MysqlSettings) {
  const { tls, ...account } = settings;
  if (!tls) return account;
  const read = (file?: string) => (file ? fs.readFileSync(file, 'utf8') : undefined);
  return {
    ...account,
    ssl: {
      ca: read(tls.caFile),
      cert: read(tls.certFile),
      key: read(tls.keyFile),
      rejectUnauthorized: tls.mode !== 'required',
      verifyIdentity: tls.mode === 'verify-identity',
    },
  };
}

/** "host:port" → port, for the stack to serve where the clients will look. */
export function portOf(address: string): number {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in address "${address}"`);
  return port;
}

export function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}

function databaseGaugesEverySeconds(env: Environment): number {
  const seconds = positiveInteger('METRICS_DATABASE_REFRESH_SECONDS', env);
  if (seconds > 30) throw new Error('METRICS_DATABASE_REFRESH_SECONDS must be 1 to 30: the gauges\' MySQL lock session lapses after 60 s of silence');
  return seconds;
}

function positiveInteger(name: SettingName, env: Environment): number {
  const value = Number(setting(name, env));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/**
 * The addresses Kafka clients bootstrap from. KAFKA_BROKERS as given; but when it names one
 * broker and KAFKA_BROKER_COUNT asks the local stack for several, every local broker, so a run
 * still connects while any one of them is down.
 */
function kafkaBrokerAddresses(env: Environment): string[] {
  const listed = setting('KAFKA_BROKERS', env).split(',').map((broker) => broker.trim());
  const count = positiveInteger('KAFKA_BROKER_COUNT', env);
  return listed.length === 1 && count > 1 ? localBrokerAddresses(listed[0], count) : listed;
}

export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

export interface KafkaSecurity {
  /** SASL authentication (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD). */
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: Secret };
  /**
   * TLS (KAFKA_SSL=true). Certificates are PEM files: the CA that signed the brokers' certificates
   * when it is not a public one (KAFKA_SSL_CA_FILE), and a client certificate and key when the
   * brokers ask for one (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE). The broker's name is always
   * verified; there is no setting to turn that off.
   */
  ssl?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** Reads the Kafka security settings; a half-given one fails here, naming the variable but never its value. */
export function loadKafkaSecurity(env: Environment = process.env): KafkaSecurity {
  const security: KafkaSecurity = {};
  const mechanism = optionalSetting('KAFKA_SASL_MECHANISM', env)?.toLowerCase();
  if (mechanism !== undefined) {
    if (!KAFKA_SASL_MECHANISMS.includes(mechanism as KafkaSaslMechanism)) {
      throw new Error(`KAFKA_SASL_MECHANISM must be one of ${KAFKA_SASL_MECHANISMS.join(', ')}`);
    }
    const username = optionalSetting('KAFKA_SASL_USERNAME', env);
    // Not trimmed: a password may begin or end with a space.
    const password = env.KAFKA_SASL_PASSWORD;
    if (!username) throw new Error('KAFKA_SASL_MECHANISM is set, so KAFKA_SASL_USERNAME must be too');
    if (!password) throw new Error('KAFKA_SASL_MECHANISM is set, so KAFKA_SASL_PASSWORD must be too');
    security.sasl = { mechanism: mechanism as KafkaSaslMechanism, username, password: new Secret(password) };
  }

  const ssl = setting('KAFKA_SSL', env).toLowerCase();
  if (ssl !== 'true' && ssl !== 'false') throw new Error('KAFKA_SSL must be true or false');
  const files = {
    caFile: optionalFile('KAFKA_SSL_CA_FILE', env),
    certFile: optionalFile('KAFKA_SSL_CERT_FILE', env),
    keyFile: optionalFile('KAFKA_SSL_KEY_FILE', env),
  };
  if (ssl === 'true') {
    if (Boolean(files.certFile) !== Boolean(files.keyFile)) {
      throw new Error('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together: set both or neither');
    }
    security.ssl = Object.fromEntries(Object.entries(files).filter(([, file]) => file !== undefined));
  } else {
    const given = Object.entries({ KAFKA_SSL_CA_FILE: files.caFile, KAFKA_SSL_CERT_FILE: files.certFile, KAFKA_SSL_KEY_FILE: files.keyFile })
      .filter(([, file]) => file !== undefined)
      .map(([name]) => name);
    if (given.length) throw new Error(`${given.join(', ')} set but KAFKA_SSL is not true`);
  }
  return security;
}

/** The connection options both Temporal clients (the CLI's Connection, the worker's NativeConnection) take. */
export function temporalConnectionOptions(config: Pick<AppConfig, 'temporalAddress' | 'temporalNamespace' | 'temporalSecurity'>) {
  return connectionOptions({ address: config.temporalAddress, namespace: config.temporalNamespace, ...config.temporalSecurity });
}

/** A setting without a default: undefined when unset or blank. */
function optionalSetting(name: string, env: Environment): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** A file a setting names, checked now so a typo fails at start rather than at the first connection. */
function optionalFile(name: string, env: Environment): string | undefined {
  const file = optionalSetting(name, env);
  if (file === undefined) return undefined;
  const resolved = path.resolve(file);
  if (!fs.existsSync(resolved)) throw new Error(`${name} names ${resolved}, which does not exist`);
  return resolved;
}

export const NOTIFY_WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type NotifyWebhookFormat = (typeof NOTIFY_WEBHOOK_FORMATS)[number];
/** What NOTIFY_ON may add to the events that are always posted (a run waiting for an operator or held, a run failed). */
export const OPTIONAL_NOTIFY_EVENTS = ['published'] as const;
export type OptionalNotifyEvent = (typeof OPTIONAL_NOTIFY_EVENTS)[number];
/** The events posted whenever a webhook is set: NOTIFY_ON may name them too, which changes nothing. */
const ALWAYS_NOTIFIED = ['awaiting-operator', 'held', 'failed'];

export interface NotificationSettings {
  /**
   * NOTIFY_WEBHOOK_URL; undefined: nothing is posted. A Slack webhook's URL is its credential (the
   * token is its path), so it is a Secret: never logged, never put in an error or a payload.
   */
  webhookUrl?: Secret;
  format: NotifyWebhookFormat;
  /** The optional events to post as well (NOTIFY_ON). */
  on: OptionalNotifyEvent[];
}

/** Reads NOTIFY_WEBHOOK_URL, NOTIFY_WEBHOOK_FORMAT and NOTIFY_ON; a wrong one fails here, naming the variable, never the URL. */
export function loadNotificationSettings(env: Environment = process.env): NotificationSettings {
  const url = optionalSetting('NOTIFY_WEBHOOK_URL', env);
  const format = setting('NOTIFY_WEBHOOK_FORMAT', env).toLowerCase() as NotifyWebhookFormat;
  if (!NOTIFY_WEBHOOK_FORMATS.includes(format)) throw new Error(`NOTIFY_WEBHOOK_FORMAT must be one of ${NOTIFY_WEBHOOK_FORMATS.join(', ')}`);
  const listed = setting('NOTIFY_ON', env)
    .split(',')
    .map((event) => event.trim().toLowerCase())
    .filter((event) => event !== '');
  const unknown = listed.filter((event) => !OPTIONAL_NOTIFY_EVENTS.includes(event as OptionalNotifyEvent) && !ALWAYS_NOTIFIED.includes(event));
  if (unknown.length) {
    throw new Error(`NOTIFY_ON lists ${unknown.map((event) => `"${event}"`).join(', ')}: it may list ${OPTIONAL_NOTIFY_EVENTS.join(', ')} (${ALWAYS_NOTIFIED.join(', ')} are always posted)`);
  }
  const on = OPTIONAL_NOTIFY_EVENTS.filter((event) => listed.includes(event));
  if (url === undefined) {
    // Events asked for and no webhook to post them to: most likely the URL was left out by mistake.
    if (listed.length) throw new Error('NOTIFY_ON set but NOTIFY_WEBHOOK_URL is not: nothing would be posted');
    return { format, on };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not the value: it may be a real webhook with a typo.
    throw new Error('NOTIFY_WEBHOOK_URL is not a URL (expected https://host/path)');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('NOTIFY_WEBHOOK_URL must start with https:// (or http://)');
  if (parsed.username || parsed.password) throw new Error('NOTIFY_WEBHOOK_URL must not carry a user or password: the receiver\'s token goes in its path');
  return { webhookUrl: new Secret(parsed.toString()), format, on };
}
