/**
 * `segment status WORKFLOW_ID`: the run as Temporal knows it: its key, the files it read (with
 * their fingerprints), per-step progress, and, if a step failed, what failed and how to retry.
 * The newest run of the workflow id is shown (an id can be reused; each run has its own key).
 */
import { loadConfig } from '../../lib/config';
import { dataDateOf } from '../../workflows/data-date';
import { describeInvoices } from '../../workflows/describe-invoices';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { printTable } from '../print-table';
import { snapshot } from '../run-progress';
import { connectClient, temporalUiLink } from '../temporal-client';
import { exitCode, printOutcome, toOutcome, watchRun } from './run';

export async function statusCommand(workflowId: string, options: { json?: boolean; wait?: boolean }): Promise<number> {
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    const handle = client.workflow.getHandle(workflowId);
    if (options.wait) return exitCode(await watchRun(handle, config, options));
    const { workflowStatus, progress, bars } = await snapshot(handle);
    if (workflowStatus !== 'RUNNING' || progress?.status === 'awaiting-operator') {
      const finished =
        progress?.status === 'awaiting-operator'
          ? { progress }
          : await handle.result().then(
              (result: SegmentationProgress) => ({ progress: result }),
              (error: unknown) => ({ error }),
            );
      const outcome = toOutcome(workflowId, config, finished);
      // A run that failed before its first step (invalid input) or was timed out or terminated
      // never updated its own progress: its query still says running. The outcome is the truth.
      if (!options.json) describeRun(progress, outcome.status);
      printOutcome(outcome, options.json);
      return exitCode(outcome);
    }
    if (options.json) {
      console.log(JSON.stringify({ workflowId, runId: progress?.runId, status: 'running', currentStep: progress?.currentStep ?? null, files: progress?.files, steps: bars }));
      return 0;
    }
    describeRun(progress);
    printTable(bars.map(({ step, value, total, detail }) => ({ step, progress: `${Math.floor((100 * value) / total)}%`, detail })));
    console.log(`Temporal UI: ${temporalUiLink(config, workflowId)}`);
    return 0;
  } finally {
    await close();
  }
}

function describeRun(progress: SegmentationProgress | undefined, status: string = progress?.status ?? ''): void {
  if (!progress) return;
  console.log(`${progress.workflowId}: ${status}${progress.currentStep ? `, step ${progress.currentStep}` : ''} (run ${progress.runId})`);
  for (const file of progress.files ?? []) {
    console.log(`  read ${file.file}: ${file.size.toLocaleString('en-US')} bytes, modified ${file.mtime}, sha256 ${file.sha256}; sheets ${file.sheets.join(', ')}`);
  }
  for (const file of progress.missingFiles ?? []) console.log(`  no export: ${file} is not there (append mode: the ledger is counted as it is)`);
  const dataDate = dataDateOf(progress);
  if (dataDate) console.log(`  data date (${progress.invoices?.mode === 'append' ? "the ledger's newest invoice after the merge" : 'newest kept invoice'}): ${dataDate.replace('T', ' ')}`);
  if (progress.invoices) for (const line of describeInvoices({ ...progress.invoices, invoices: progress.invoices })) console.log(`  ${line}`);
  if (progress.audit) {
    const { audit } = progress;
    const against = audit.superseded ? `not compared: run ${audit.comparedWith} holds newer data` : audit.comparedWith ? `against published run ${audit.comparedWith}` : 'nothing published yet';
    console.log(`  audit ${audit.outcome} (${against})`);
    for (const check of audit.checks) console.log(`    ${check.outcome.padEnd(7)} ${check.name}: ${check.summary}`);
    if (audit.approval) console.log(`    approved by ${audit.approval.by ?? 'an operator'} at ${audit.approval.at}${audit.approval.reason ? `: ${audit.approval.reason}` : ''}`);
  }
  for (const decision of progress.decisions) {
    console.log(`  ${decision.at}: ${decision.by ?? 'operator'} chose ${decision.action} after step ${decision.step} ${decision.step === 'audit' ? 'held the run' : 'failed'}${decision.reason ? ` (${decision.reason})` : ''}`);
  }
}
