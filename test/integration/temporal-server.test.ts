/** The local Temporal dev server runs a workflow and an activity through a real worker. */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig, temporalConnectionOptions } from '../../lib/config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../lib/search-attributes';
import { greetingWorkflow } from '../fixtures/greeting-workflow';

const config = loadConfig();

test('a workflow and its activity complete on the dev server', async () => {
  const taskQueue = `temporal-server-test-${randomUUID()}`;
  const workerConnection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: config.temporalNamespace,
    taskQueue,
    workflowsPath: require.resolve('../fixtures/greeting-workflow'),
    activities: { greet: async (name: string) => `Hello, ${name}` },
  });
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    const client = new Client({ connection, namespace: config.temporalNamespace });
    const result = await worker.runUntil(
      client.workflow.execute(greetingWorkflow, { taskQueue, workflowId: `greeting-${randomUUID()}`, args: ['retailer'] }),
    );
    expect(result).toBe('Hello, retailer');
  } finally {
    await connection.close();
    await workerConnection.close();
  }
});

test('the custom search attributes are registered', async () => {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: config.temporalNamespace });
    for (const key of CUSTOM_SEARCH_ATTRIBUTES) expect(Object.keys(customAttributes ?? {})).toContain(key.name);
  } finally {
    await connection.close();
  }
});

test('the Web UI answers', async () => {
  const response = await fetch(config.temporalUiUrl);
  expect(response.status).toBe(200);
  expect(await response.text()).toContain('<html');
});
