/**
 * `segment stack up|down|status`: the three real servers on a machine without Docker.
 * `up` installs what is missing, starts what is not running and waits until each one serves
 * clients; run again it only checks. A server someone else runs on the same address (Docker
 * Compose, say) is used as it is and never stopped.
 */
import { kafkaBroker } from './kafka-broker';
import { residentMemoryMiB, runningPid, stopProcess, managedProcess, waitUntilReady } from './managed-process';
import { mysqlServer } from './mysql-server';
import { loadStackSettings, type ServerStatus, type StackServer, type StackSettings } from './stack-settings';
import { temporalServer } from './temporal-server';

export const SERVER_NAMES = ['temporal', 'kafka', 'mysql'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export function stackServers(settings: StackSettings, only: readonly string[] = []): StackServer[] {
  const all = [temporalServer(settings), kafkaBroker(settings), mysqlServer(settings)];
  const unknown = only.filter((name) => !SERVER_NAMES.includes(name as ServerName));
  if (unknown.length) throw new Error(`unknown server ${unknown.join(', ')}; expected ${SERVER_NAMES.join(', ')}`);
  return only.length ? all.filter((server) => only.includes(server.name)) : all;
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

  // Already serving (started by us earlier, or by someone else): only re-check the set-up.
  if (runningPid(proc) !== undefined || (await answers(server))) {
    const version = await waitUntilReady(proc, ready, server.readyTimeoutMs);
    log(`${server.name}: already up (${server.address}, ${version})`);
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
  await Promise.all(
    stackServers(settings, only).map(async (server) => {
      const stopped = await stopProcess(managedProcess(settings.stackDir, server.name));
      log(`${server.name}: ${stopped ? 'stopped' : 'was not running (from this stack)'}`);
    }),
  );
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
