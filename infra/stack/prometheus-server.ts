/**
 * Prometheus from Debian's `prometheus` package, run under STACK_DIR with a prometheus.yml written
 * at every start: it scrapes the workers' metrics endpoints as job "segmentation-worker" and loads
 * infra/prometheus/alerts.yml. Opt-in (`segment stack up prometheus`); docs/alerts.md says how to
 * use it and how to add Alertmanager.
 *
 * The package ships an init script and a systemd unit that would start a second Prometheus, as
 * the prometheus user, on the same port 9090: right after installing it, that one is stopped and
 * disabled, so the port is this stack's.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { PROJECT_ROOT, processEnvironment } from '../../lib/config';
import { managedProcess, startDetached } from './managed-process';
import { runCommand } from './run-command';
import type { PrometheusSettings, StackServer, StackSettings } from './stack-settings';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';
export const ALERT_RULES = path.join(PROJECT_ROOT, 'infra', 'prometheus', 'alerts.yml');
/** The scrape job of the workers: the alert rules select it by this name. */
export const WORKER_JOB = 'segmentation-worker';

export function prometheusServer(settings: StackSettings): StackServer {
  const { address, host, port } = settings.prometheus;
  const home = path.join(settings.stackDir, 'prometheus');
  const configFile = path.join(home, 'prometheus.yml');
  const dataDir = path.join(home, 'data');
  const proc = managedProcess(settings.stackDir, 'prometheus');
  const url = `http://${host}:${port}`;

  return {
    name: 'prometheus',
    address,
    link: `${url}/alerts`,
    readyTimeoutMs: 60_000,

    async install(log) {
      await ensurePrometheus(log);
    },

    async start() {
      if (await portAnswers(host, port)) {
        throw new Error(
          `something that this stack did not start listens on ${address} (Debian's own prometheus service? ` +
            '`systemctl disable --now prometheus` or `/etc/init.d/prometheus stop` stops that one); stop it or set PROMETHEUS_ADDRESS',
        );
      }
      fs.mkdirSync(dataDir, { recursive: true });
      fs.writeFileSync(configFile, prometheusConfig(settings.prometheus));
      // Check the generated file and the rules before starting, so a mistake names its line.
      await runCommand(PROMTOOL, ['check', 'config', configFile]);
      startDetached(proc, PROMETHEUS, [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=${address}`,
        '--storage.tsdb.retention.time=15d',
      ]);
    },

    startedWithOlderConfiguration() {
      try {
        return fs.readFileSync(configFile, 'utf8') !== prometheusConfig(settings.prometheus);
      } catch {
        return false;
      }
    },

    /** Its version once it is ready, and only if it is this stack's one (another Prometheus has other rules). */
    async probe() {
      const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) }).catch((error: unknown) => {
        throw new Error(`Prometheus does not answer at ${address} (${error instanceof Error ? error.message : String(error)})`);
      });
      if (!ready.ok) throw new Error(`Prometheus at ${address} is not ready (${ready.status})`);
      const flags = (await getJson(`${url}/api/v1/status/flags`)) as Record<string, string>;
      if (path.resolve(flags['config.file'] ?? '') !== configFile) {
        throw new Error(`the Prometheus at ${address} is not this stack's: it reads ${flags['config.file']}, not ${configFile}`);
      }
      const build = (await getJson(`${url}/api/v1/status/buildinfo`)) as { version?: string };
      return build.version ?? 'unknown';
    },
  };
}

/** The prometheus.yml the stack writes: one scrape job for the workers, the alert rules, and the Alertmanagers if any. */
export function prometheusConfig(settings: PrometheusSettings): string {
  const config = {
    global: {
      scrape_interval: settings.scrapeInterval,
      // A scrape must end before the next one starts.
      scrape_timeout: milliseconds(settings.scrapeInterval) < 10_000 ? settings.scrapeInterval : '10s',
      evaluation_interval: settings.evaluationInterval,
    },
    rule_files: [ALERT_RULES],
    ...(settings.alertmanagers.length
      ? { alerting: { alertmanagers: [{ static_configs: [{ targets: settings.alertmanagers }] }] } }
      : {}),
    scrape_configs: [
      {
        job_name: WORKER_JOB,
        // Each target says which task queue its worker should poll: SegmentationTaskQueueNotPolled compares.
        static_configs: [{ targets: settings.targets, labels: { segmentation_task_queue: settings.taskQueue } }],
      },
    ],
  };
  return `# Written by \`segment stack up prometheus\` (infra/stack/prometheus-server.ts) at every start: edit the settings, not this file.\n${YAML.stringify(config)}`;
}

/**
 * Installs Debian's prometheus package (prometheus and promtool) when missing: as root, or through
 * sudo. Without its recommended node exporter, and without the service it would start.
 */
export async function ensurePrometheus(log: (line: string) => void = () => undefined): Promise<void> {
  if (fs.existsSync(PROMETHEUS) && fs.existsSync(PROMTOOL)) return;
  log("prometheus: installing Debian's prometheus package with apt-get");
  const env = { ...processEnvironment(), DEBIAN_FRONTEND: 'noninteractive' };
  const asRoot = process.getuid?.() === 0;
  const apt = (args: string[]) => runCommand(asRoot ? 'apt-get' : 'sudo', asRoot ? args : ['-n', 'apt-get', ...args], { env });
  try {
    await apt(['install', '-y', '-qq', '--no-install-recommends', 'prometheus']);
  } catch {
    // A fresh machine may have no package lists yet.
    await apt(['update', '-qq']);
    await apt(['install', '-y', '-qq', '--no-install-recommends', 'prometheus']);
  }
  await stopPackagedService(log, asRoot);
  if (!fs.existsSync(PROMETHEUS) || !fs.existsSync(PROMTOOL)) throw new Error(`apt-get installed prometheus, but ${PROMETHEUS} or ${PROMTOOL} is missing`);
}

/**
 * The package's post-install starts its own service where it can (systemd, or an init script
 * that policy-rc.d allows): stopped and disabled, so it neither holds 9090 now nor at the next boot.
 */
async function stopPackagedService(log: (line: string) => void, asRoot: boolean): Promise<void> {
  const run = (command: string, args: string[]) => runCommand(asRoot ? command : 'sudo', asRoot ? args : ['-n', command, ...args]).then(
    () => true,
    () => false,
  );
  if (fs.existsSync('/run/systemd/system')) {
    if (await run('systemctl', ['disable', '--now', 'prometheus.service'])) log("prometheus: stopped and disabled the package's own prometheus.service");
    return;
  }
  const pidFile = '/run/prometheus/prometheus.pid';
  const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : 0;
  if (pid > 0 && isAlive(pid)) {
    await run('/etc/init.d/prometheus', ['stop']);
    await run('update-rc.d', ['prometheus', 'disable']);
    log(`prometheus: stopped the package's own prometheus (pid ${pid}) and disabled its init script`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return ((await response.json()) as { data: unknown }).data;
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function milliseconds(duration: string): number {
  const [, amount, unit] = /^(\d+)(ms|s|m|h)$/.exec(duration)!;
  return Number(amount) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
}
