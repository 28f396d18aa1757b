/**
 * `segment stack up|down|status`: the real servers on a machine without Docker.
 * `up` installs what is missing, starts what is not running and waits until each one serves
 * clients; run again it only checks. A server someone else runs on the same address (Docker
 * Compose, say) is used as it is and never stopped.
 *
 * Servers are named temporal, kafka and mysql; with KAFKA_BROKER_COUNT=N the brokers are
 * kafka-1 ... kafka-N, and `kafka` names all of them. prometheus is opt-in: `up` starts it only
 * when named; without names, `up`, `down` and `status` include it while it runs.
 */
import { forgetBrokerCount, kafkaBrokers, kafkaProcesses } from './kafka-broker';
import { killProcess, managedProcess, residentMemoryMiB, runningPid, stopProcess, waitUntilReady } from './managed-process';
import { mysqlServer } from './mysql-server';
import { prometheusServer } from './prometheus-server';
import { loadStackSettings, type ServerStatus, type StackServer, type StackSettings } from './stack-settings';
import { temporalServer } from './temporal-server';

export const SERVER_NAMES = ['temporal', 'kafka', 'mysql', 'prometheus'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];
/** Servers that only start when named; a plain `stack up` leaves them out. */
const OPT_IN: readonly string[] = ['prometheus'];

export function stackServers(settings: StackSettings, only: readonly string[] = []): StackServer[] {
  const all = [temporalServer(settings), ...kafkaBrokers(settings), mysqlServer(settings), prometheusServer(settings)];
  const selects = (name: string, server: StackServer) => server.name === name || (name === 'kafka' && server.name.startsWith('kafka-'));
  const unknown = only.filter((name) => !all.some((server) => selects(name, server)));
  if (unknown.length) {
    throw new Error(`unknown server ${unknown.join(', ')}; expected ${[...new Set(['temporal', 'kafka', ...all.map((s) => s.name)])].join(', ')}`);
  }
  if (only.length) return all.filter((server) => only.some((name) => selects(name, server)));
  const running = (server: StackServer) => runningPid(managedProcess(settings.stackDir, server.name)) !== undefined;
  return all.filter((server) => !OPT_IN.includes(server.name) || running(server));
}

export interface UpResult {
  name: string;
  action: 'already up' | 'started';
  seconds: number;
  version: string;
}

/** Brings the servers up in parallel; resolves when every one answers. */
export async function stackUp(
  only: readonly string[] = [],
  log: (line: string) => void = () => {},
  settings = loadStackSettings(),
): Promise<UpResult[]> {
  return await Promise.all(stackServers(settings, only).map((server) => bringUp(server, settings, log)));
}

async function bringUp(server: StackServer, settings: StackSettings, log: (line: string) => void): Promise<UpResult> {
  const started = Date.now();
  const proc = managedProcess(settings.stackDir, server.name);
  const ready = async () => {
    await server.prepare?.();
    return await server.probe();
  };
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  server.checkBeforeUp?.();

  // Already serving (started by us earlier, or by someone else): only re-check the set-up.
  if (runningPid(proc) !== undefined || (await answers(server))) {
    const version = await waitUntilReady(proc, ready, server.readyTimeoutMs);
    log(`${server.name}: already up (${server.address}, ${version})`);
    if (runningPid(proc) !== undefined && server.startedWithOlderConfiguration?.()) {
      log(`${server.name}: runs with an older configuration; \`segment stack down ${server.name}\` and \`segment stack up ${server.name}\` apply the new one`);
    }
    return { name: server.name, action: 'already up', seconds: seconds(), version };
  }
  await server.install(log);
  await server.start();
  const version = await waitUntilReady(proc, ready, server.readyTimeoutMs);
  log(`${server.name}: started in ${seconds()}s (${server.address}, ${version})`);
  return { name: server.name, action: 'started', seconds: seconds(), version };
}

export async function stackDown(
  only: readonly string[] = [],
  log: (line: string) => void = () => {},
  settings = loadStackSettings(),
): Promise<void> {
  const servers = stackServers(settings, only);
  const names = servers.map((server) => server.name);
  // `kafka` also stops brokers started with another KAFKA_BROKER_COUNT than today's.
  const allKafka = only.length === 0 || only.includes('kafka');
  if (allKafka) {
    for (const proc of kafkaProcesses(settings.stackDir)) if (!names.includes(proc.name)) names.push(proc.name);
  }
  await Promise.all(
    names.map(async (name) => {
      const stopped = await stopProcess(managedProcess(settings.stackDir, name));
      log(`${name}: ${stopped ? 'stopped' : 'was not running (from this stack)'}`);
    }),
  );
  if (allKafka) forgetBrokerCount(settings.stackDir);
}

/**
 * Kills one server the hard way (SIGKILL), as a crash or a pulled plug would: for tests of what
 * survives it. `stackUp([name])` starts it again.
 */
export async function stackKill(name: string, settings = loadStackSettings()): Promise<void> {
  const [server] = stackServers(settings, [name]);
  if (server.name !== name) throw new Error(`stackKill takes one server by its own name, e.g. kafka-2, not ${name}`);
  if (!(await killProcess(managedProcess(settings.stackDir, name)))) throw new Error(`${name} is not running from this stack`);
}

export async function stackStatus(only: readonly string[] = [], settings = loadStackSettings()): Promise<ServerStatus[]> {
  return await Promise.all(
    stackServers(settings, only).map(async (server): Promise<ServerStatus> => {
      const pid = runningPid(managedProcess(settings.stackDir, server.name));
      const status: ServerStatus = { name: server.name, up: false, address: server.address, pid, link: server.link };
      if (pid !== undefined) status.memoryMiB = residentMemoryMiB(pid);
      try {
        status.version = await server.probe();
        status.up = true;
      } catch (error) {
        status.problem = error instanceof Error ? error.message : String(error);
      }
      return status;
    }),
  );
}

async function answers(server: StackServer): Promise<boolean> {
  try {
    await server.probe();
    return true;
  } catch {
    return false;
  }
}
