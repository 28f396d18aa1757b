/**
 * `segment report`: what customer_segments says now, and with --moved, which customers changed
 * category between the last two completed runs (from customer_segment_history).
 */
import type { Knex } from 'knex';
import { createDatabase } from '../../lib/database';
import { loadConfig } from '../../lib/config';
import { TABLES } from '../../lib/tables';
import { printTable } from '../print-table';

export async function reportCommand(options: { moved?: boolean; top?: number; json?: boolean }): Promise<number> {
  const db = createDatabase(loadConfig().mysql);
  try {
    const report = options.moved ? { moved: await movedCustomers(db) } : await currentSegments(db, options.top ?? 10);
    if (options.json) {
      console.log(JSON.stringify(report));
    } else if ('moved' in report) {
      if (report.moved.length === 0) console.log('no customer changed category between the last two completed runs');
      else printTable(report.moved);
    } else {
      printTable(report.categories);
      console.log('');
      printTable(report.topCustomers);
    }
    return 0;
  } finally {
    await db.destroy();
  }
}

export async function currentSegments(db: Knex, top: number) {
  const categories: Array<{ FrequencyCategory: string; Customers: number }> = await db(TABLES.segments)
    .groupBy('FrequencyCategory')
    // An ENUM sorts in its declared order: Low Frequency, then High Frequency.
    .orderBy('FrequencyCategory')
    .select('FrequencyCategory', db.raw('COUNT(*) AS Customers'));
  const topCustomers: Array<{ CustomerID: number; PurchaseCount: number; FrequencyCategory: string }> = await db(TABLES.segments)
    .orderBy([{ column: 'PurchaseCount', order: 'desc' }, { column: 'CustomerID' }])
    .limit(top)
    .select('CustomerID', 'PurchaseCount', 'FrequencyCategory');
  return { categories: categories.map((row) => ({ ...row, Customers: Number(row.Customers) })), topCustomers };
}

/** Customers whose category differs between the two most recent completed runs. */
export async function movedCustomers(db: Knex) {
  const runs: Array<{ run_id: string }> = await db(TABLES.runs)
    .whereIn('status', ['completed', 'superseded'])
    .orderBy([{ column: 'started_at', order: 'desc' }, { column: 'run_id', order: 'desc' }])
    .limit(2)
    .select('run_id');
  if (runs.length < 2) return [];
  const [latest, previous] = runs.map((run) => run.run_id);
  const rows: Array<{ CustomerID: number; Before: string; After: string; PurchasesBefore: number; PurchasesAfter: number }> = await db(
    `${TABLES.segmentHistory} as after`,
  )
    .join(`${TABLES.segmentHistory} as before`, 'before.CustomerID', 'after.CustomerID')
    .where('after.RunId', latest)
    .andWhere('before.RunId', previous)
    .andWhereRaw('?? <> ??', ['before.FrequencyCategory', 'after.FrequencyCategory'])
    .orderBy('after.CustomerID')
    .select(
      'after.CustomerID as CustomerID',
      'before.FrequencyCategory as Before',
      'after.FrequencyCategory as After',
      'before.PurchaseCount as PurchasesBefore',
      'after.PurchaseCount as PurchasesAfter',
    );
  return rows;
}
