/**
 * Nightly delta exports through schedules, on the real data and the real servers: a backfill over
 * quarterly dated delta files (`exports/online-retail-{date}.csv`, each night's file the three
 * months before it, and a night whose file never came) in append mode ends with the table of the
 * whole workbook; then a schedule with no file and a 180-day window, backfilled for a night months
 * later, ages customers out.
 *
 * Quarterly, not monthly: each night is a whole run merging into a growing ledger (about 5 s on a
 * busy CI), and fourteen monthly nights took 77 s; six nights cross the same kinds of boundary.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { TABLES } from '../../lib/tables';
import { plainFigures, splitCsvLine, type PlainRow } from '../support/plain-segmentation';
import { scheduledRunResult, segments } from '../support/run-workflow';
import { segment } from '../support/segment-cli';
import { describeWithOnlineRetail, ONLINE_RETAIL_CSV_GZ, onlineRetailReference } from '../support/shared-data';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(600_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'append-schedule-'));
const suffix = randomBytes(3).toString('hex');

describeWithOnlineRetail(
  'nightly delta exports through schedules',
  () => {
    let env: TestEnvironment;
    /** Every data line of the CSV with its cells, in file order. */
    const lines: Array<{ line: string; row: PlainRow }> = [];
    let header = '';

    async function schedule(id: string, action: string, ...args: string[]): Promise<any> {
      return (await segment(['schedule', action, ...args, '--id', id, '--json'], env.env)).lastJson;
    }

    const result = (workflowId: string) => scheduledRunResult(env.client, workflowId);

    beforeAll(async () => {
      const input = readline.createInterface({ input: fs.createReadStream(ONLINE_RETAIL_CSV_GZ).pipe(zlib.createGunzip()), crlfDelay: Infinity });
      let column: Record<string, number> | undefined;
      for await (const line of input) {
        const fields = splitCsvLine(line);
        if (column === undefined) {
          header = line;
          column = Object.fromEntries(fields.map((name, index) => [name, index]));
          continue;
        }
        lines.push({
          line,
          row: {
            invoiceNo: fields[column.InvoiceNo],
            customerId: fields[column.CustomerID],
            quantity: fields[column.Quantity],
            unitPrice: fields[column.UnitPrice],
            invoiceDate: fields[column.InvoiceDate],
          },
        });
      }
      // The night of the 1st of each quarter (January, April, July, October) gets the quarter before it.
      fs.mkdirSync(path.join(dataDir, 'exports'));
      const quarters = new Map<string, string[]>();
      for (const { line, row } of lines) {
        const month = Number(row.invoiceDate.slice(5, 7)) - 1;
        const night = new Date(Date.UTC(Number(row.invoiceDate.slice(0, 4)), month - (month % 3) + 3, 1)).toISOString().slice(0, 10);
        if (!quarters.has(night)) quarters.set(night, []);
        quarters.get(night)!.push(line);
      }
      for (const [night, quarterLines] of quarters) fs.writeFileSync(path.join(dataDir, 'exports', `online-retail-${night}.csv`), [header, ...quarterLines].join('\n') + '\n');
      env = await createTestEnvironment('append_schedule', { dataDir });
      await env.startWorker();
    });

    afterAll(async () => {
      await env?.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    test('a backfill over quarterly delta files ({date} template) ends with the table of the whole workbook', async () => {
      const id = `test-quarterly-deltas-${suffix}`;
      const template = path.join(dataDir, 'exports', 'online-retail-{date}.csv');
      await schedule(id, 'create', '--file', template, '--mode', 'append', '--no-audit', '--cron', '0 2 1 1,4,7,10 *');
      await schedule(id, 'pause');
      // Five quarters of exports (the first holds December 2010 only), then a night whose file never came (2012-04-01).
      const backfill = await schedule(id, 'backfill', '--from', '2011-01-01', '--to', '2012-04-01');
      expect(backfill.runs).toHaveLength(6);
      const runs = [];
      for (const { workflowId } of backfill.runs) runs.push(await result(workflowId));
      expect(runs.map((run) => run.status)).toEqual(Array(6).fill('completed'));
      expect(runs.map((run) => run.summary!.invoices!.mode)).toEqual(Array(6).fill('append'));
      // The night with no export is no failure (the schedule would pause): the window is re-applied as of that night.
      expect(runs[5].missingFiles).toEqual(['exports/online-retail-2012-04-01.csv']);
      expect(runs[5].summary!.invoices).toMatchObject({ invoices: 0, night: '2012-04-01T00:00:00', dataDate: '2012-04-01T00:00:00' });

      const reference = await onlineRetailReference();
      const table = await segments(env.db);
      expect(table.length).toBe(reference.customers);
      expect(new Map(table.map((row) => [row.CustomerID, row.PurchaseCount]))).toEqual(reference.purchaseCounts);
      expect(runs[4].summary!.invoices).toMatchObject({ ledgerInvoices: reference.purchases, oldest: '2010-12-01T08:26:00', newest: '2011-12-09T12:50:00' });
      await schedule(id, 'delete');
    });

    test('a scheduled night with no file re-applies the window as of that night: customers age out', async () => {
      const id = `test-no-file-${suffix}`;
      const created = await schedule(id, 'create', '--mode', 'append', '--window', '180d', '--no-audit');
      expect(created.input).toMatchObject({ mode: 'append', window: '180d' });
      expect(created.input.file).toBeUndefined();
      await schedule(id, 'pause');
      // After the first schedule's last night (2012-04-01): an older night would be superseded.
      const backfill = await schedule(id, 'backfill', '--from', '2012-06-01');
      expect(backfill.runs).toHaveLength(1);
      const night = await result(backfill.runs[0].workflowId);
      // The night moves the data date to its day: 180 days back from 2012-06-01 start on 2011-12-05.
      expect(night.summary!.invoices).toMatchObject({ dataDate: '2012-06-01T00:00:00', windowStart: '2011-12-05T00:00:00', invoices: 0 });
      expect(night.summary!.published).toBe(true);
      const recent = await plainFigures(lines.map((entry) => entry.row).filter((row) => row.invoiceDate >= '2011-12-05'));
      const table = await segments(env.db);
      expect(new Map(table.map((row) => [row.CustomerID, row.PurchaseCount]))).toEqual(recent.purchaseCounts);
      expect(table.length).toBeLessThan((await onlineRetailReference()).customers);
      // The ledger keeps every invoice: ageing out only leaves customer_segments.
      expect(Number((await env.db(TABLES.ledger).count({ n: '*' }))[0].n)).toBe((await onlineRetailReference()).purchases);
      await schedule(id, 'delete');
    });
  },
  [ONLINE_RETAIL_CSV_GZ],
);
