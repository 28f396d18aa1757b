/**
 * `segment report [WORKFLOW_ID]`: what a run read and produced, from MySQL: its data-quality
 * report, segment sizes, a PurchaseCount histogram, the RFM segments with their Monetary and the
 * recency × frequency grid, and the customers who changed category or RFM segment since the
 * previous published run (which runs, see ../report/run-report.ts). By default the run whose
 * result customer_segments holds. `--html OUT` writes the same as one self-contained page.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../lib/database';
import { loadConfig } from '../../lib/config';
import { htmlRunReport } from '../report/html-run-report';
import { printRunReport } from '../report/print-run-report';
import { loadRunReport } from '../report/run-report';

export interface ReportOptions {
  /** Print only what changed since the previous published run, with the customers who changed category or RFM segment. */
  moved?: boolean;
  /** How many of those customers to print (all in JSON and up to 200 in HTML). */
  limit: number;
  html?: string;
  json?: boolean;
}

export async function reportCommand(workflowId: string | undefined, options: ReportOptions): Promise<number> {
  const config = loadConfig();
  const db = createDatabase(config.mysql);
  try {
    const report = await loadRunReport(db, workflowId, { dataDir: config.dataDir });
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
