/**
 * Run as a child process (node --import tsx read-workbook-peak.ts FILE [LIMITS_JSON]): reads the
 * workbook with the fast reader and prints, as one JSON line, how the read ended and the peak RSS
 * and heap of this process alone, which a Jest worker's own memory would hide.
 */
import { readTransactionRows } from '../../../lib/workbook/read-transaction-rows';

async function main(): Promise<void> {
  const [filePath, limits] = process.argv.slice(2);
  let peakHeap = 0;
  const sample = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 2);
  let outcome = 'read';
  try {
    for await (const batch of readTransactionRows({ filePath, displayName: 'peak.xlsx', limits: limits ? JSON.parse(limits) : undefined })) void batch;
  } catch (error) {
    outcome = (error as Error).message;
  }
  clearInterval(sample);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  process.stdout.write(`${JSON.stringify({ outcome, peakRssBytes: process.resourceUsage().maxRSS * 1024, peakHeapBytes: peakHeap })}\n`);
}

void main();
