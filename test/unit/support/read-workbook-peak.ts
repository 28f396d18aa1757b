/**
 * Run as a child process (node --import tsx read-workbook-peak.ts FILE [LIMITS_JSON]): reads the
 * workbook with the fast reader and prints, as one JSON line, how the read ended and the peak RSS
 * and heap of this process alone, which a Jest worker's own memory would hide.
 */
import { readFileSync } from 'node:fs';
import { readTransactionRows } from '../../../lib/workbook/read-transaction-rows';

/**
 * The peak RSS of this program's own memory. Not getrusage's maxRSS: Linux carries the parent's
 * resident size at fork into the child's maxRSS across exec, so a child of a Jest process holding
 * 400 MiB reports 400 MiB whatever it reads. VmHWM is the high-water mark of the memory exec gave
 * this program alone.
 */
function peakRssBytes(): number {
  try {
    const kib = /^VmHWM:\s*(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib !== undefined) return Number(kib) * 1024;
  } catch {
    // not Linux: no /proc
  }
  return process.resourceUsage().maxRSS * 1024;
}

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
  process.stdout.write(`${JSON.stringify({ outcome, peakRssBytes: peakRssBytes(), peakHeapBytes: peakHeap })}\n`);
}

void main();
