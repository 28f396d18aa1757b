/** A Temporal client for the CLI, closed by the caller. */
import { Client, Connection } from '@temporalio/client';
import { loadConfig, temporalConnectionOptions, type AppConfig } from '../lib/config';

export async function connectClient(config: AppConfig = loadConfig()): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporalNamespace });
  return { client, close: () => connection.close() };
}

export { temporalUiLink } from '../lib/temporal-ui-link';
