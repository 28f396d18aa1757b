/**
 * How the worker, the CLI and the schedule commands reach Temporal, read by the SDK's own
 * @temporalio/envconfig: the variables and the TOML profile file (TEMPORAL_CONFIG_FILE, else
 * ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, else "default") that the `temporal` CLI
 * and every Temporal SDK read too. Precedence, highest first:
 *
 *   1. the standard variables (TEMPORAL_ADDRESS, TEMPORAL_TLS_CLIENT_CERT_PATH, ...)
 *   2. this project's older names for three of them (ALIASES below)
 *   3. the profile in the file
 *   4. the local dev server's defaults (127.0.0.1:7233, namespace "default", no TLS)
 *
 * The environment comes in as an argument (lib/config.ts passes it), also to envconfig, which
 * would otherwise read the process's own. API keys, key contents and gRPC headers are kept in Secrets, never logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ClientConfigProfile, ConfigDataSource } from '@temporalio/envconfig';
import { Secret } from './secret';

/**
 * Loaded when the settings are read, not when lib/config.ts is imported: envconfig brings
 * @temporalio/common (0.1 s), which `segment --help` would otherwise pay for.
 */
const envconfig = () => require('@temporalio/envconfig') as typeof import('@temporalio/envconfig');

export type Environment = Readonly<Record<string, string | undefined>>;

export const TEMPORAL_DEFAULTS = {
  TEMPORAL_ADDRESS: '127.0.0.1:7233',
  TEMPORAL_NAMESPACE: 'default',
} as const;

/** Older name → standard name. The standard one wins when both are set. */
export const ALIASES = {
  TEMPORAL_TLS_CA_FILE: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  TEMPORAL_TLS_CERT_FILE: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY_FILE: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
} as const;

/** A PEM certificate or key: a file read when connecting, or the text itself (a `*_DATA` setting). */
export type Pem = { file: string } | { text: Secret };

export interface TemporalTls {
  /** The name the server's certificate must carry, when it is not the address's host. */
  serverName?: string;
  /** The CA that signed the server's certificate, when it is not a public one. */
  serverCaCert?: Pem;
  /** A client certificate and its key, when the server asks for one (mTLS). */
  clientCert?: Pem;
  clientKey?: Pem;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** Absent: plaintext (the local dev server). An API key always goes with TLS. */
  tls?: TemporalTls;
  apiKey?: Secret;
  /** gRPC headers sent with every call (TEMPORAL_GRPC_META_*, or grpc_meta in the profile). */
  grpcMeta?: Record<string, Secret>;
}

export function loadTemporalSettings(env: Environment): TemporalSettings {
  const standard = standardVariables(env);
  const profile = readProfile(standard);
  const sourceOf = (variable: keyof typeof FIELDS_BY_VARIABLE) => describeSource(variable, env, standard);

  const apiKey = profile.apiKey;
  const tls = profile.tls;
  if (tls?.disabled) {
    const off = 'TLS is off (TEMPORAL_TLS=false, or tls.disabled in the profile)';
    if (apiKey) throw new Error(`an API key (TEMPORAL_API_KEY, or api_key in the profile) is sent only over TLS, and ${off}`);
    const given = [
      tls.serverCACert && sourceOf('TEMPORAL_TLS_SERVER_CA_CERT_PATH'),
      tls.clientCert && sourceOf('TEMPORAL_TLS_CLIENT_CERT_PATH'),
      tls.clientKey && sourceOf('TEMPORAL_TLS_CLIENT_KEY_PATH'),
      tls.serverName && 'TEMPORAL_TLS_SERVER_NAME',
    ].filter(Boolean);
    if (given.length) throw new Error(`${given.join(', ')} set but ${off}`);
  }
  const settings: TemporalSettings = {
    address: profile.address?.trim() || TEMPORAL_DEFAULTS.TEMPORAL_ADDRESS,
    namespace: profile.namespace?.trim() || TEMPORAL_DEFAULTS.TEMPORAL_NAMESPACE,
  };
  // TLS when a profile or a variable asks for it (TEMPORAL_TLS=true or any certificate), or for an API key.
  if ((tls && !tls.disabled) || apiKey) {
    if (Boolean(tls?.clientCert) !== Boolean(tls?.clientKey)) {
      const [given, missing] = tls?.clientCert
        ? [sourceOf('TEMPORAL_TLS_CLIENT_CERT_PATH'), 'TEMPORAL_TLS_CLIENT_KEY_PATH']
        : [sourceOf('TEMPORAL_TLS_CLIENT_KEY_PATH'), 'TEMPORAL_TLS_CLIENT_CERT_PATH'];
      throw new Error(`${given} is set but not ${missing}: a client certificate and its key go together, set both or neither`);
    }
    settings.tls = withoutUndefined({
      serverName: tls?.serverName,
      serverCaCert: pem(tls?.serverCACert, sourceOf('TEMPORAL_TLS_SERVER_CA_CERT_PATH')),
      clientCert: pem(tls?.clientCert, sourceOf('TEMPORAL_TLS_CLIENT_CERT_PATH')),
      clientKey: pem(tls?.clientKey, sourceOf('TEMPORAL_TLS_CLIENT_KEY_PATH')),
    });
  }
  if (apiKey) settings.apiKey = new Secret(apiKey);
  if (profile.grpcMeta && Object.keys(profile.grpcMeta).length) {
    settings.grpcMeta = Object.fromEntries(Object.entries(profile.grpcMeta).map(([header, value]) => [header, new Secret(value)]));
  }
  return settings;
}

/** The options both Temporal connections (the CLI's Connection, the worker's NativeConnection) take; certificates are read now. */
export function connectionOptions(settings: TemporalSettings) {
  return envconfig().toClientOptions(toProfile(settings)).connectionOptions;
}

/** Back to the SDK's own shape, secrets revealed only here, on their way to the connection. */
function toProfile({ address, namespace, tls, apiKey, grpcMeta }: TemporalSettings): ClientConfigProfile {
  const source = (given?: Pem): ConfigDataSource | undefined => (given && ('file' in given ? { path: given.file } : { data: given.text.reveal() }));
  return withoutUndefined({
    address,
    namespace,
    apiKey: apiKey?.reveal(),
    tls: tls && withoutUndefined({
      serverName: tls.serverName,
      serverCACert: source(tls.serverCaCert),
      clientCert: source(tls.clientCert),
      clientKey: source(tls.clientKey),
    }),
    grpcMeta: grpcMeta && Object.fromEntries(Object.entries(grpcMeta).map(([header, value]) => [header, value.reveal()])),
  });
}

/**
 * The environment as envconfig reads it: blank values unset (as for every other setting of the
 * project), the older names copied to the standard ones the environment leaves unset, and
 * TEMPORAL_TLS checked (envconfig would take "TRUE" or "yes" for false).
 */
function standardVariables(env: Environment): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    // An empty TEMPORAL_GRPC_META_X removes header X the profile sets; a PEM's text keeps its last newline.
    if (name.startsWith('TEMPORAL_GRPC_META_')) variables[name] = value;
    else if (!value.trim()) continue;
    else variables[name] = name.endsWith('_DATA') ? value : value.trim();
  }
  for (const [alias, name] of Object.entries(ALIASES)) {
    if (variables[alias] !== undefined && variables[name] === undefined) variables[name] = variables[alias];
  }
  if (variables.TEMPORAL_TLS !== undefined) {
    const tls = variables.TEMPORAL_TLS.toLowerCase();
    if (!['true', 'false', '1', '0'].includes(tls)) throw new Error('TEMPORAL_TLS must be true or false');
    variables.TEMPORAL_TLS = tls === 'true' || tls === '1' ? 'true' : 'false';
  }
  return variables;
}

/**
 * The profile with the variables applied over it. The profile file is read only when asked for
 * (TEMPORAL_CONFIG_FILE or TEMPORAL_PROFILE set): a personal ~/.config/temporalio/temporal.toml
 * must never point a nightly worker, the local stack or the tests at another cluster unasked.
 * A file TEMPORAL_CONFIG_FILE names must exist; without it, the temporal CLI's default location.
 */
function readProfile(variables: Record<string, string>): ClientConfigProfile {
  const file = variables.TEMPORAL_CONFIG_FILE;
  if (file !== undefined && !fs.existsSync(file)) throw new Error(`TEMPORAL_CONFIG_FILE names ${path.resolve(file)}, which does not exist`);
  const askedForProfile = file !== undefined || variables.TEMPORAL_PROFILE !== undefined;
  try {
    // Strict: a misspelt key in the profile file fails at start instead of being ignored.
    return envconfig().loadClientConfigProfile({ overrideEnvVars: variables, configFileStrict: true, disableFile: !askedForProfile });
  } catch (error) {
    // envconfig's own messages name keys and profiles only; a TOML syntax error's message also
    // quotes the lines around it (an api_key, perhaps), so only its first line and position are kept.
    const { message, line, column } = error as Error & { line?: number; column?: number };
    const where = line === undefined ? '' : ` (line ${line}, column ${column})`;
    // eslint-disable-next-line preserve-caught-error -- the cause's message may quote an api_key
    throw new Error(`Temporal connection settings: ${message.split('\n')[0]}${where}`);
  }
}

/** Which profile-file key each standard variable overrides, to name the setting a problem came from. */
const FIELDS_BY_VARIABLE = {
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'server_ca_cert',
  TEMPORAL_TLS_CLIENT_CERT_PATH: 'client_cert',
  TEMPORAL_TLS_CLIENT_KEY_PATH: 'client_key',
} as const;

/** "TEMPORAL_TLS_CLIENT_CERT_PATH", its older name, its _DATA twin, or the profile's key: whichever was given. */
function describeSource(variable: keyof typeof FIELDS_BY_VARIABLE, env: Environment, standard: Record<string, string>): string {
  const data = variable.replace(/_PATH$/, '_DATA');
  if (standard[data] !== undefined) return data;
  if (env[variable]?.trim()) return variable;
  const alias = Object.entries(ALIASES).find(([, name]) => name === variable)?.[0];
  if (alias && env[alias]?.trim()) return alias;
  return `tls.${FIELDS_BY_VARIABLE[variable]}_path of the Temporal profile`;
}

/** A certificate's source; a file checked now so a typo fails at start rather than at the first connection. */
function pem(source: ConfigDataSource | undefined, name: string): Pem | undefined {
  if (source === undefined) return undefined;
  if ('data' in source) return { text: new Secret(Buffer.from(source.data).toString('utf8')) };
  const file = path.resolve(source.path);
  if (!fs.existsSync(file)) throw new Error(`${name} names ${file}, which does not exist`);
  return { file };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, given]) => given !== undefined)) as T;
}
