/**
 * `segment report [WORKFLOW_ID]`: what a run read and produced, from MySQL: its data-quality
 * report, segment sizes, a PurchaseCount histogram, and the customers who changed category since
 * the previous run (which runs, see ../report/run-report.ts). By default the run whose result
 * customer_segments holds. `--html OUT` writes the same as one self-contained page.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../lib/database';
import { loadConfig } from '../../lib/config';
import { htmlRunReport } from '../report/html-run-report';
import { printRunReport } from '../report/print-run-report';
import { loadRunReport } from '../report/run-report';

export interface ReportOptions {
  /** Print only the customers who changed category. */
  moved?: boolean;
  /** How many changed customers to print (all in JSON and up to 200 in HTML). */
  limit: number;
  html?: string;
  json?: boolean;
}

export async function reportCommand(workflowId: string | undefined, options: ReportOptions): Promise<number> {
  const db = createDatabase(loadConfig().mysql);
  try {
    const report = await loadRunReport(db, workflowId);
    if (options.html) {
      const out = path.resolve(options.html);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, htmlRunReport(report));
      // With --json, stdout stays one JSON line; the page's path goes to stderr.
      (options.json ? console.error : console.log)(`wrote ${out}`);
    }
    if (options.json) console.log(JSON.stringify(report));
    else if (!options.html) printRunReport(report, { limit: options.limit, movedOnly: options.moved });
    return 0;
  } finally {
    await db.destroy();
  }
}
