/** `segment stack up|down|status [temporal|kafka|mysql|prometheus]` (prometheus only when named, or while it runs). */
import { stackDown, stackStatus, stackUp } from '../../infra/stack/stack';
import { printTable } from '../print-table';

export async function stackCommand(action: string, servers: string[]): Promise<number> {
  const log = (line: string) => console.log(line);
  switch (action) {
    case 'up': {
      await stackUp(servers, log);
      return await printStatus(servers);
    }
    case 'down':
      await stackDown(servers, log);
      return 0;
    case 'status':
      return await printStatus(servers);
    default:
      console.error(`unknown action "${action}": use up, down or status`);
      return 2;
  }
}

async function printStatus(servers: string[]): Promise<number> {
  const statuses = await stackStatus(servers);
  printTable(
    statuses.map((status) => ({
      server: status.name,
      state: status.up ? 'up' : 'down',
      address: status.address,
      version: status.version ?? '',
      managed: status.pid ? `pid ${status.pid}, ${status.memoryMiB ?? '?'} MiB` : status.up ? 'external' : '',
      link: status.link ?? '',
    })),
  );
  for (const status of statuses.filter((s) => !s.up)) console.log(`${status.name}: ${status.problem?.split('\n')[0]}`);
  return statuses.every((status) => status.up) ? 0 : 1;
}
