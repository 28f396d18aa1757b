/**
 * Step 1a, plan the load: which workbooks (filling `{date}` from the scheduled time, or picking
 * the newest match of a pattern), their fingerprints (size, mtime, sha256: what this run reads),
 * and which of their sheets hold transactions. Each (file, sheet) becomes one load activity.
 *
 * Runs at the start of every load (a first run, an operator's retry, a reset to before loading),
 * so it also empties the run's staging: the pairs about to be loaded replace any earlier ones.
 * That delete is fenced: a stale attempt of the plan (or of any plan before a newer one) deletes nothing.
 */
import { Context } from '@temporalio/activity';
import { resolveWorkbookPath, type WorkbookPath } from '../lib/data-dir';
import { InvalidWorkbookError } from '../lib/errors';
import { fingerprintFile, type FileFingerprint } from '../lib/file-fingerprint';
import { readRfmRules, type RfmRules } from '../lib/segmentation/rfm-rules';
import { STAGING_TABLES } from '../lib/tables';
import { fillDatePlaceholders, resolveWorkbookPattern } from '../lib/workbook-file-pattern';
import { csvCompression } from '../lib/workbook/csv-workbook-source';
import { CSV_SHEET_NAME, listTransactionSheets, type WorkbookReaderKind } from '../lib/workbook/read-transaction-rows';
import type { RunMode } from '../workflows/segmentation-input';
import type { WorkbookFingerprint } from '../workflows/segmentation-progress';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';
import { inflatedBytesPerSheet, resolveRunLimits, runTooLarge } from './run-limits';
import { claimStepAttempt } from './step-attempt-fence';

export interface PlanLoadInput {
  runId: string;
  /** Paths relative to DATA_DIR, possibly with `{date}` placeholders or wildcards. */
  files: string[];
  sheet: string | null;
  reader: WorkbookReaderKind;
  /** The time the run is for (a schedule's slot), ISO. */
  scheduledAt: string;
  timezone: string;
  /** Absent in runs from before append mode: snapshot. */
  mode?: RunMode;
  /** The run's RFM segment map in DATA_DIR, read here so that a bad one fails the run before it loads anything. */
  rfmRules?: string | null;
}

/** One sheet of one workbook: what one load activity reads. */
export interface LoadPart {
  file: string;
  sheet: string;
  fingerprint: FileFingerprint;
}

export interface LoadPlan {
  files: WorkbookFingerprint[];
  parts: LoadPart[];
  skippedSheets: Array<{ file: string; sheet: string; reason: string }>;
  /** Append mode: files (after `{date}`) that are not there, a night with no export. Absent in older plans. */
  missingFiles?: string[];
  /** The run's RFM segment map, read and checked once, here: the aggregate step uses this copy. Absent in older plans. */
  rfmRules?: RfmRules;
}

export function createPlanLoad(dependencies: ActivityDependencies) {
  const { dataDir, runLimits } = dependencies;
  const limits = resolveRunLimits(runLimits);
  return async function planLoad(input: PlanLoadInput): Promise<LoadPlan> {
    const signal = Context.current().cancellationSignal;
    const fence = await claimStepAttempt(dependencies, input.runId, 'plan');
    const rfmRules = readRfmRules(dataDir, input.rfmRules ?? null);
    const plan: LoadPlan = { files: [], parts: [], skippedSheets: [], missingFiles: [], rfmRules };
    /** What the loads planned so far will inflate, held to maxDecompressedBytes over the whole run. */
    let inflatedBytes = 0;
    for (const pattern of input.files) {
      // Listing a big folder takes a while: heartbeats go on meanwhile (matching yields to them).
      const filled = fillDatePlaceholders(pattern, new Date(input.scheduledAt), input.timezone);
      let workbook: WorkbookPath;
      try {
        workbook = resolveWorkbookPath(dataDir, await heartbeatWhile(resolveWorkbookPattern(dataDir, filled)));
      } catch (error) {
        // A delta that is not there is a night with no new transactions: the run goes on over the
        // ledger (and re-applies its window). A snapshot run has nothing to count without it.
        if (input.mode !== 'append' || !(error instanceof InvalidWorkbookError && error.notFound)) throw error;
        plan.missingFiles!.push(error.location.file);
        continue;
      }
      // Hashing reads the file through; finding the sheets reads its directory and the start of
      // each sheet: side by side.
      const [fingerprint, found] = await heartbeatWhile(
        Promise.all([
          fingerprintFile(workbook.absolutePath, signal),
          listTransactionSheets({ filePath: workbook.absolutePath, displayName: workbook.displayName, reader: input.reader, limits, signal }),
        ]),
      );
      const sheets = input.sheet === null ? found.sheets : [chosenSheet(workbook.displayName, input.sheet, found)];
      if (sheets.length === 0) {
        const skipped = found.skipped.map(({ sheet, reason }) => `"${sheet}" (${reason})`).join(', ');
        throw new InvalidWorkbookError({ file: workbook.displayName }, `has no sheet with a transactions header${skipped ? `: ${skipped}` : ''}`);
      }
      const bytes = await heartbeatWhile(inflatedBytesPerSheet(workbook.absolutePath, workbook.displayName, sheets, signal, limits.maxDecompressedBytes));
      for (const [index, sheet] of sheets.entries()) {
        inflatedBytes += bytes[index];
        if (inflatedBytes > limits.maxDecompressedBytes) {
          throw runTooLarge({ file: workbook.displayName, sheet }, inflatedBytes, plan.parts.length + index + 1, limits.maxDecompressedBytes);
        }
      }
      plan.files.push({ file: workbook.displayName, ...fingerprint, sheets });
      plan.parts.push(...sheets.map((sheet) => ({ file: workbook.displayName, sheet, fingerprint })));
      if (input.sheet === null) plan.skippedSheets.push(...found.skipped.map((skipped) => ({ file: workbook.displayName, ...skipped })));
    }
    await heartbeatWhile(fence.write((trx) => Promise.all(STAGING_TABLES.map((table) => trx(table).where({ run_id: input.runId }).delete()))));
    return plan;
  };
}

/** The sheet the input names, as the workbook spells it. */
function chosenSheet(file: string, wanted: string, found: { sheets: string[]; skipped: Array<{ sheet: string; reason: string }> }): string {
  const same = (name: string) => name.trim().toLowerCase() === wanted.trim().toLowerCase();
  const sheet = found.sheets.find(same);
  if (sheet !== undefined) return sheet;
  const skipped = found.skipped.find(({ sheet: name }) => same(name));
  if (skipped) throw new InvalidWorkbookError({ file, sheet: skipped.sheet }, skipped.reason);
  const names = [...found.sheets, ...found.skipped.map(({ sheet: name }) => name)];
  if (csvCompression(file) !== undefined) {
    throw new InvalidWorkbookError({ file, sheet: wanted }, `is a CSV file, whose rows are one sheet, "${CSV_SHEET_NAME}" (leave the sheet out, or name "${CSV_SHEET_NAME}")`);
  }
  throw new InvalidWorkbookError({ file, sheet: wanted }, `no such sheet; the workbook has ${names.map((name) => `"${name}"`).join(', ') || 'none'}`);
}
