/**
 * Forked by support/read-in-child.ts: reads each workbook the parent sends and answers how the
 * read ended, how long it took and how far this process's resident memory rose above where it
 * stood when the read began. The Jest process cannot measure that itself: its peak (maxRSS) is
 * the highest of every test file before, and hides a reader's. Here, before each read, the
 * kernel's peak mark (VmHWM) is reset to the current size, so each read's peak is its own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidWorkbookError } from '../../../lib/errors';
import { readTransactionRows, type ReadTransactionRowsOptions } from '../../../lib/workbook/read-transaction-rows';

export type ReadRequest = Pick<ReadTransactionRowsOptions, 'filePath' | 'displayName' | 'reader' | 'limits'>;

export interface ReadAnswer {
  seconds: number;
  peakGrowthBytes: number;
  /** Absent when the read succeeded. */
  error?: { name: string; message: string; location?: InvalidWorkbookError['location'] };
  /** False where the peak mark cannot be reset (no Linux /proc): this process then ends after one read. */
  peakReset: boolean;
}

function statusKib(field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const kib = new RegExp(`^${field}:\\s*(\\d+) kB$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined; // not Linux
  }
}

/** Linux: writing 5 to clear_refs sets VmHWM back to the current resident size. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return statusKib('VmHWM') !== undefined;
  } catch {
    return false;
  }
}

async function read(request: ReadRequest): Promise<ReadAnswer> {
  // Memory the last read left for the collector would otherwise be reused and hide this read's.
  (globalThis as { gc?: () => void }).gc?.();
  const peakReset = resetPeak();
  const rssBefore = statusKib('VmRSS') ?? process.memoryUsage().rss;
  const started = performance.now();
  let error: ReadAnswer['error'];
  try {
    for await (const batch of readTransactionRows(request)) void batch;
  } catch (thrown) {
    const { name, message } = thrown as Error;
    error = { name, message, location: thrown instanceof InvalidWorkbookError ? thrown.location : undefined };
  }
  const seconds = (performance.now() - started) / 1000;
  const peak = (peakReset ? statusKib('VmHWM') : undefined) ?? process.resourceUsage().maxRSS * 1024;
  return { seconds, peakGrowthBytes: peak - rssBefore, error, peakReset };
}

process.on('message', (request: ReadRequest) => {
  void read(request).then((answer) => {
    process.send!(answer);
    if (!answer.peakReset) process.disconnect(); // the next read needs a fresh process
  });
});
