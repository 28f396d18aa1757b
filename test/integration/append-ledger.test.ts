/**
 * Nightly delta exports (`mode: append`) on the real data: the Online Retail rows cut into one
 * CSV per four weeks (made here from ../shared/data/online-retail.csv.gz), merged into the invoice
 * ledger one run at a time, end with exactly the table of one snapshot run of the whole workbook.
 * Then, on that ledger: a file sent again, an overlapping file, a late delta, a 90-day window, a
 * held and an aborted run, and two runs at once.
 *
 * The order is the one a retailer's nightly job lives through: the snapshot run is published first
 * (newest data), so the deltas merge while superseded; the last delta reaches its data date and
 * publishes the whole ledger; one delta is held back and sent late.
 *
 * Four weeks, not one: each delta is a whole run (about 2.5 s on a busy CI), and a run per week
 * (over fifty) made this CI's longest test, 150 s. Fourteen deltas cross the same kinds of boundary.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { TABLES } from '../../lib/tables';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import { splitCsvLine } from '../support/plain-segmentation';
import { startSegmentation } from '../support/run-workflow';
import { segment } from '../support/segment-cli';
import { describeWithOnlineRetail, ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX } from '../support/shared-data';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(900_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'append-ledger-'));

/** Days per delta file; each starts on a Monday. */
const DELTA_DAYS = 28;

/** The CSV's header and its lines by delta (keyed by its first Monday), in file order; each line with its InvoiceDate. */
interface CutData {
  header: string;
  deltas: Map<string, Array<{ line: string; date: string }>>;
  lines: Array<{ line: string; date: string; customerId: string; invoiceNo: string; quantity: string; unitPrice: string }>;
}

async function cutIntoDeltas(): Promise<CutData> {
  const lines = readline.createInterface({ input: fs.createReadStream(ONLINE_RETAIL_CSV_GZ).pipe(zlib.createGunzip()), crlfDelay: Infinity });
  let header: string | undefined;
  let column: Record<string, number> = {};
  const cut: CutData = { header: '', deltas: new Map(), lines: [] };
  for await (const line of lines) {
    if (header === undefined) {
      header = line;
      column = Object.fromEntries(splitCsvLine(line).map((name, index) => [name, index]));
      continue;
    }
    const fields = splitCsvLine(line);
    const date = fields[column.InvoiceDate];
    // Days since Monday 1970-01-05, floored to a multiple of DELTA_DAYS: the delta's first Monday.
    const days = Math.floor((Date.parse(`${date.slice(0, 10)}T00:00:00Z`) - Date.UTC(1970, 0, 5)) / 86_400_000);
    const delta = new Date(Date.UTC(1970, 0, 5) + (days - (days % DELTA_DAYS)) * 86_400_000).toISOString().slice(0, 10);
    if (!cut.deltas.has(delta)) cut.deltas.set(delta, []);
    cut.deltas.get(delta)!.push({ line, date });
    cut.lines.push({
      line,
      date,
      customerId: fields[column.CustomerID],
      invoiceNo: fields[column.InvoiceNo],
      quantity: fields[column.Quantity],
      unitPrice: fields[column.UnitPrice],
    });
  }
  cut.header = header!;
  return cut;
}

function writeCsv(name: string, header: string, lines: Array<{ line: string }>): string {
  fs.writeFileSync(path.join(dataDir, name), [header, ...lines.map((entry) => entry.line)].join('\n') + '\n');
  return name;
}

describeWithOnlineRetail(
  'nightly delta exports into the invoice ledger',
  () => {
    let env: TestEnvironment;
    let cut: CutData;
    let deltas: string[];
    const runKeys: Record<string, string> = {};

    async function run(name: string, input: SegmentationInput): Promise<SegmentationProgress> {
      const handle = await startSegmentation(env.client, env.config, input, name);
      const progress = await handle.result();
      runKeys[name] = progress.runId;
      return progress;
    }

    /** The ledger's business content (not which run wrote a row, nor when): what sending a file again must not change. */
    async function ledgerContent() {
      const [row] = await env.db.raw(
        `SELECT COUNT(*) AS invoices, SUM(Amount) AS amount,
                BIT_XOR(CRC32(CONCAT_WS(',', CustomerID, HEX(InvoiceNo), COALESCE(InvoiceDate, ''), Amount))) AS digest
         FROM ??`,
        [TABLES.ledger],
      );
      return { invoices: Number(row[0].invoices), amount: String(row[0].amount), digest: String(row[0].digest) };
    }

    /** The ledger table as stored, every column: what a held or aborted run must leave byte for byte. */
    async function ledgerChecksum() {
      const [rows] = await env.db.raw('CHECKSUM TABLE ??', [TABLES.ledger]);
      const [state] = await env.db.raw('CHECKSUM TABLE ??', [TABLES.ledgerState]);
      return `${rows[0].Checksum}/${state[0].Checksum}`;
    }

    async function published() {
      return await env.db(TABLES.segments).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory');
    }

    async function history(runId: string) {
      return await env.db(TABLES.segmentHistory).where({ RunId: runId }).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory');
    }

    beforeAll(async () => {
      fs.copyFileSync(ONLINE_RETAIL_XLSX, path.join(dataDir, 'online-retail.xlsx'));
      cut = await cutIntoDeltas();
      deltas = [...cut.deltas.keys()].sort();
      for (const delta of deltas) writeCsv(`delta-${delta}.csv`, cut.header, cut.deltas.get(delta)!);
      env = await createTestEnvironment('append_ledger', { dataDir });
      await env.startWorker();
    });

    afterAll(async () => {
      await env?.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    test('deltas of four weeks, oldest first and one sent late, end with the table of one snapshot run of the whole workbook', async () => {
      const snapshot = await run('snapshot', { file: 'online-retail.xlsx' });
      expect(snapshot).toMatchObject({ status: 'completed', summary: { published: true } });
      const late = deltas[Math.floor(deltas.length / 2)];
      const inOrder = [...deltas.filter((delta) => delta !== late), late];
      const last = deltas[deltas.length - 1];
      for (const delta of inOrder) {
        const progress = await run(`delta-${delta}`, { file: `delta-${delta}.csv`, mode: 'append' });
        // Older data than the published snapshot: merged, not published; the last delta reaches its
        // date (a later start wins the tie), and the late delta after it publishes the whole ledger.
        const reachesNewest = delta === last || delta === late;
        expect({ delta, status: progress.status, published: progress.summary?.published }).toEqual({
          delta,
          status: reachesNewest ? 'completed' : 'superseded',
          published: reachesNewest,
        });
        expect(progress.summary!.invoices).toMatchObject({ mode: 'append', window: 'all' });
        const merged = await env.db(TABLES.runs).where({ run_id: progress.runId }).first('mode', 'ledger_merged_at');
        expect(merged.mode).toBe('append');
        expect(merged.ledger_merged_at).not.toBeNull();
      }
      expect(await published()).toEqual(await history(runKeys.snapshot));
      expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: runKeys[`delta-${late}`] }]);

      // The ledger holds every kept invoice once, with its exact amount: Σ Quantity × UnitPrice of the CSV's text.
      const ledger = await ledgerContent();
      expect(ledger.invoices).toBe(snapshot.summary!.purchases);
      expect(ledger.amount).toBe(exactTotal(cut.lines));
      const lateRun = await run('late-summary-check', { mode: 'append' });
      expect(lateRun.summary!.invoices).toMatchObject({ invoices: 0, added: 0, replaced: 0, ledgerInvoices: ledger.invoices, outsideWindow: 0 });

      // What the operator reads: the report and the run listing say the mode and the ledger's figures.
      const report = (await segment(['report', lateRun.workflowId, '--json'], env.env)).lastJson;
      expect(report.run).toMatchObject({ mode: 'append', window: 'all', invoices: { added: 0, ledgerInvoices: ledger.invoices, oldest: '2010-12-01T08:26:00' } });
      const { stdout } = await segment(['report', lateRun.workflowId], env.env);
      expect(stdout).toContain('mode append (new transactions merged into the invoice ledger), window all');
      expect(stdout).toContain(`ledger: 0 invoices added, 0 replaced (of 0 in the run's files); ${ledger.invoices.toLocaleString('en-US')} invoices from 2010-12-01 to 2011-12-09`);
      const listed = (await segment(['runs', '--json', '--limit', '2'], env.env)).lastJson;
      expect(listed[0]).toMatchObject({ workflowId: lateRun.workflowId, mode: 'append', window: 'all' });
    });

    test('sending a delta again, or a file that overlaps the last one by three days, changes nothing', async () => {
      const before = { ledger: await ledgerContent(), table: await published() };
      const again = await run('again', { file: `delta-${deltas[10]}.csv`, mode: 'append' });
      expect(again.summary!.invoices).toMatchObject({ added: 0, replaced: again.summary!.invoices!.invoices });
      expect(again.summary!.invoices!.invoices).toBeGreaterThan(0);
      expect(again.status).toBe('completed');
      const last = deltas[deltas.length - 1];
      const lastDay = cut.deltas.get(last)![0].date.slice(0, 10);
      const threeDaysBefore = new Date(`${lastDay}T00:00:00Z`);
      threeDaysBefore.setUTCDate(threeDaysBefore.getUTCDate() - 3);
      const overlap = cut.lines.filter((entry) => entry.date >= threeDaysBefore.toISOString().slice(0, 10));
      writeCsv('overlap.csv', cut.header, overlap);
      const overlapping = await run('overlap', { file: 'overlap.csv', mode: 'append' });
      expect(overlapping.summary!.invoices).toMatchObject({ added: 0 });
      expect(overlapping.summary!.invoices!.invoices).toBeGreaterThan(cut.deltas.get(last)!.length > 0 ? 0 : -1);
      expect({ ledger: await ledgerContent(), table: await published() }).toEqual(before);
    });

    test('a 90-day window as of the newest invoice equals a snapshot run over only the rows of those 90 days', async () => {
      const windowed = await run('window-90d', { mode: 'append', window: '90d', audit: false });
      const figures = windowed.summary!.invoices!;
      expect(figures).toMatchObject({ window: '90d', windowStart: '2011-09-11T00:00:00', dataDate: '2011-12-09T12:50:00' });
      expect(windowed.summary!.published).toBe(true);
      writeCsv('last-90-days.csv', cut.header, cut.lines.filter((entry) => entry.date >= '2011-09-11'));
      const snapshot = await run('snapshot-90-days', { file: 'last-90-days.csv', audit: false });
      expect(snapshot.summary!.customers).toBe(windowed.summary!.customers);
      expect(await history(runKeys['window-90d'])).toEqual(await history(runKeys['snapshot-90-days']));
      expect(figures.outsideWindow).toBe(figures.ledgerInvoices! - windowed.summary!.purchases);
    });

    test('a held run and an aborted run leave the ledger as it was, to the byte', async () => {
      // Back to the whole ledger, then a night whose new invoice comes with a 1-day window: the audit holds it (customers shrink).
      await run('whole-again', { mode: 'append', audit: false });
      const before = await ledgerChecksum();
      writeCsv('new-invoice.csv', cut.header, [{ line: '999001,85123A,TEST LINE,2,2011-12-10 09:00:00,1.25,12346,United Kingdom' }]);
      const handle = await startSegmentation(env.client, env.config, { file: 'new-invoice.csv', mode: 'append', window: '1d' }, 'held');
      await waitFor(async () => (await handle.query(progressQuery)).status === 'awaiting-operator');
      expect(await ledgerChecksum()).toBe(before);
      await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', by: 'test', reason: 'held on purpose' }] });
      await expect(handle.result()).rejects.toThrow();
      expect(await ledgerChecksum()).toBe(before);
      expect(await env.db(TABLES.ledger).where({ CustomerID: 12346 }).whereRaw('InvoiceNo = ?', ['999001'])).toEqual([]);
    });

    test('two append runs started at once both finish, and the ledger is theirs one after the other', async () => {
      const base = await ledgerContent();
      writeCsv('night-a.csv', cut.header, [{ line: '999101,85123A,TEST A,3,2011-12-10 10:00:00,2.55,12347,Iceland' }]);
      writeCsv('night-b.csv', cut.header, [{ line: '999102,85123A,TEST B,1,2011-12-10 11:00:00,0.85,12348,Finland' }]);
      const [a, b] = await Promise.all([
        startSegmentation(env.client, env.config, { file: 'night-a.csv', mode: 'append', audit: false }, 'night-a'),
        startSegmentation(env.client, env.config, { file: 'night-b.csv', mode: 'append', audit: false }, 'night-b'),
      ]);
      const results = await Promise.all([a.result(), b.result()]);
      expect(results.map((result) => result.status)).toEqual(['completed', 'completed']);
      const after = await ledgerContent();
      expect(after.invoices).toBe(base.invoices + 2);
      // The run that published last counted both nights: customers 12347 and 12348 each have one more invoice.
      const counts = await env.db(TABLES.segments).whereIn('CustomerID', [12347, 12348]).orderBy('CustomerID').select('CustomerID', 'PurchaseCount');
      const before = await Promise.all([12347, 12348].map((id) => env.db(TABLES.segmentHistory).where({ RunId: runKeys['whole-again'], CustomerID: id }).first('PurchaseCount')));
      expect(counts.map((row) => row.PurchaseCount)).toEqual(before.map((row) => (row?.PurchaseCount ?? 0) + 1));
    });

    test('a held night approved after a later night merged: the later export of a shared invoice stays, and the approval is asked again for the new count', async () => {
      writeCsv('held-night.csv', cut.header, [{ line: '999201,85123A,TEST HELD,1,2011-12-11 10:00:00,1.00,12349,Italy' }]);
      writeCsv('later-night.csv', cut.header, [{ line: '999201,85123A,TEST LATER,2,2011-12-11 10:00:00,1.00,12349,Italy' }]);
      // A 1-day window shrinks the customers: the audit holds this night.
      const held = await startSegmentation(env.client, env.config, { file: 'held-night.csv', mode: 'append', window: '1d' }, 'held-night');
      await waitFor(async () => (await held.query(progressQuery)).status === 'awaiting-operator');
      const later = await run('later-night', { file: 'later-night.csv', mode: 'append', audit: false });
      expect(later.status).toBe('completed');
      await held.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'approve', by: 'test', reason: 'the holiday' }] });
      // The later night merged since it was counted: counted again, audited again, held again.
      await waitFor(async () => {
        const progress = await held.query(progressQuery);
        return progress.status === 'awaiting-operator' && progress.steps.aggregate.runs === 2;
      });
      await held.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'approve', by: 'test', reason: 'the holiday, counted again' }] });
      const done = await held.result();
      expect(done.status).toBe('completed');
      expect(done.summary!.invoices).toMatchObject({ added: 0, replaced: 0, olderThanLedger: 1 });
      const row = await env.db(TABLES.ledger).where({ CustomerID: 12349 }).whereRaw('InvoiceNo = ?', ['999201']).first('Amount', 'RunId');
      expect(row).toEqual({ Amount: '2.0000000000', RunId: later.runId });
    });
  },
  [ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX],
);

/** Σ Quantity × UnitPrice over the rows the seed's rules keep, from the CSV's decimal text, as DECIMAL(30,10) prints it. */
function exactTotal(lines: CutData['lines']): string {
  let total = 0n;
  const scaled = (text: string) => {
    const [whole, fraction = ''] = text.split('.');
    return BigInt(whole + fraction.padEnd(10, '0'));
  };
  for (const row of lines) {
    if (row.customerId === '' || row.invoiceNo === '' || /^c/i.test(row.invoiceNo)) continue;
    if (!(Number(row.quantity) > 0) || !(Number(row.unitPrice) > 0)) continue;
    total += BigInt(row.quantity) * scaled(row.unitPrice);
  }
  return `${total / 10n ** 10n}.${(total % 10n ** 10n).toString().padStart(10, '0')}`;
}

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 200));
}
