/**
 * Saves the event history of a finished run as a replay fixture:
 *   npx tsx test/replay/record-history.ts WORKFLOW_ID test/fixtures/histories/<name>.json
 * Record a new fixture when the workflow changes on purpose (behind a patch), and keep the old
 * ones: they are the runs already in production that the new code must still replay.
 */
import fs from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { connectClient } from '../../cli/temporal-client';

async function main(): Promise<void> {
  const [workflowId, outPath] = process.argv.slice(2);
  if (!workflowId || !outPath) throw new Error('usage: record-history.ts WORKFLOW_ID OUT.json');
  const { client, close } = await connectClient();
  try {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    fs.writeFileSync(outPath, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
    console.log(`wrote ${history.events?.length} events to ${outPath}`);
  } finally {
    await close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
