/**
 * The audit on the real UCI workbook: after it is published (4,338 customers), the bad nights
 * people actually get, made from the real rows (a header with no rows, every CustomerID blank, a
 * file cut off after 2,000 rows, only the last days), must never replace `customer_segments`.
 * Three are held by the audit and aborted; the cut-off file's data is a year older than the
 * published run's, so publication order supersedes it before any check compares it (not held:
 * status superseded, exit 0). The figures each check measured are printed as one markdown table.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { AuditCheckName } from '../../lib/audit/audit-checks';
import { TABLES } from '../../lib/tables';
import { zipBacklogBytes } from '../../lib/workbook/generate-workbook';
import type { PlainCellValue } from '../../lib/workbook/plain-cell-value';
import { readTransactionCells } from '../../lib/workbook/read-transaction-rows';
import { TRANSACTION_COLUMNS, type TransactionColumn } from '../../lib/workbook/transaction-columns';
import type { RunAudit } from '../../workflows/segmentation-progress';
import { segmentExit } from '../support/segment-cli';
import { describeWithOnlineRetail, ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX, onlineRetailReference } from '../support/shared-data';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(900_000);

const DAY_MS = 86_400_000;
const UNIX_EPOCH_SERIAL = 25_569;
/** 2011-12-01 00:00 as an Excel serial: the last days are the rows on or after it. */
const LAST_DAYS_FROM = Date.UTC(2011, 11, 1) / DAY_MS + UNIX_EPOCH_SERIAL;
const CUT_AFTER_ROWS = 2_000;
const MAX_ZIP_BACKLOG_BYTES = 1024 * 1024;

/** One bad export, written as the real one is: a sheet of the eight columns, InvoiceDate a date cell. */
class ExportWriter {
  private readonly output: fs.WriteStream;
  private readonly writer: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly sheet: ExcelJS.Worksheet;
  rows = 0;
  /** Milliseconds spent adding rows and finishing the file, waits for deflate included. */
  elapsedMs = 0;

  constructor(readonly file: string) {
    this.output = fs.createWriteStream(file);
    this.writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: this.output, useSharedStrings: true, useStyles: true });
    this.sheet = this.writer.addWorksheet('Online Retail');
    this.sheet.columns = TRANSACTION_COLUMNS.map((column) => (column === 'InvoiceDate' ? { style: { numFmt: 'm/d/yy h:mm' } } : {}));
    this.sheet.addRow([...TRANSACTION_COLUMNS]).commit();
  }

  async add(cells: Record<TransactionColumn, PlainCellValue>): Promise<void> {
    const started = performance.now();
    this.sheet.addRow(TRANSACTION_COLUMNS.map((column) => cellOf(column, cells[column]))).commit();
    this.rows += 1;
    // exceljs ignores backpressure (see generate-workbook.ts): let deflate catch up now and then.
    if (this.rows % 1000 === 0) {
      do await new Promise((resolve) => setImmediate(resolve));
      while ((zipBacklogBytes(this.sheet) ?? 0) > MAX_ZIP_BACKLOG_BYTES);
    }
    this.elapsedMs += performance.now() - started;
  }

  async close(): Promise<void> {
    const started = performance.now();
    this.sheet.commit();
    await this.writer.commit();
    if (!this.output.closed) await once(this.output, 'close');
    this.elapsedMs += performance.now() - started;
  }
}

/**
 * The same export as CSV, the other format retailers send (the CSV reader takes it): for the export
 * of every real row, which exceljs takes 35-40 s of CI's CPU to write as a workbook, and CSV about 2.
 */
class CsvExportWriter {
  private readonly output: fs.WriteStream;
  rows = 0;
  elapsedMs = 0;

  constructor(readonly file: string) {
    this.output = fs.createWriteStream(file);
    this.output.write(`${TRANSACTION_COLUMNS.join(',')}\n`);
  }

  async add(cells: Record<TransactionColumn, PlainCellValue>): Promise<void> {
    const started = performance.now();
    const line = TRANSACTION_COLUMNS.map((column) => csvField(column, cells[column])).join(',');
    this.rows += 1;
    if (!this.output.write(`${line}\n`)) await once(this.output, 'drain');
    this.elapsedMs += performance.now() - started;
  }

  async close(): Promise<void> {
    const started = performance.now();
    this.output.end();
    if (!this.output.closed) await once(this.output, 'close');
    this.elapsedMs += performance.now() - started;
  }
}

/** A value read from the real workbook as a CSV field: text quoted, a date serial as the CSV export writes it (2010-12-01 08:26:00). */
function csvField(column: TransactionColumn, value: PlainCellValue): string {
  const cell = cellOf(column, value);
  if (cell === null || cell === undefined) return '';
  if (cell instanceof Date) return cell.toISOString().slice(0, 19).replace('T', ' ');
  if (typeof cell === 'string') return `"${cell.replaceAll('"', '""')}"`;
  if (typeof cell === 'number' || typeof cell === 'boolean') return String(cell);
  throw new Error(`${column}: a cell CSV has no field for`);
}

/** A value read from the real workbook, as a cell to write: the reader gives dates as serials. */
function cellOf(column: TransactionColumn, value: PlainCellValue): ExcelJS.CellValue {
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) throw new Error(`${column}: ${value.unusable}`);
  if (column === 'InvoiceDate' && typeof value === 'number') return new Date(Math.round(((value - UNIX_EPOCH_SERIAL) * DAY_MS) / 1000) * 1000);
  return value;
}

interface BadExport {
  name: string;
  file: string;
  /** The checks the audit holds it with, on the real data; 'superseded': never compared. */
  failed: AuditCheckName[] | 'superseded';
}

const BAD_EXPORTS: BadExport[] = [
  { name: 'a header with no rows', file: 'header-only.xlsx', failed: ['minCustomers', 'maxShrinkPercent', 'maxHighShareShiftPoints'] },
  { name: 'every CustomerID blank', file: 'blank-customers.csv', failed: ['minCustomers', 'maxShrinkPercent', 'maxDroppedPercent', 'maxHighShareShiftPoints'] },
  { name: `cut off after ${CUT_AFTER_ROWS.toLocaleString('en-US')} rows`, file: 'cut-off.xlsx', failed: 'superseded' },
  { name: 'only the last days (from 2011-12-01)', file: 'last-days.xlsx', failed: ['maxShrinkPercent', 'maxHighShareShiftPoints'] },
];

describeWithOnlineRetail('the audit on the real Online Retail workbook', () => {
  let dataDir: string;
  let env: TestEnvironment;
  let publishedRunId: string;
  const audits = new Map<string, RunAudit | undefined>();
  /** For the table: what a run that was not compared came to. */
  const notes = new Map<string, string>();
  const timings: string[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-real-'));
    env = await createTestEnvironment('audit_real', { dataDir });
    await env.startWorker();
    // A copy in the test's own DATA_DIR: the pipeline refuses a symlink that leaves DATA_DIR.
    fs.copyFileSync(ONLINE_RETAIL_XLSX, path.join(dataDir, 'online-retail.xlsx'));

    // One pass over the real rows, through the project's reader, writes every bad export.
    const started = performance.now();
    const [headerOnly, blank, cut, lastDays] = BAD_EXPORTS.map((bad) => (bad.file.endsWith('.csv') ? new CsvExportWriter(path.join(dataDir, bad.file)) : new ExportWriter(path.join(dataDir, bad.file))));
    for await (const batch of readTransactionCells({ filePath: ONLINE_RETAIL_XLSX, displayName: 'online-retail.xlsx' })) {
      for (const { cells } of batch.rows) {
        await blank.add({ ...cells, CustomerID: null });
        if (cut.rows < CUT_AFTER_ROWS) await cut.add(cells);
        if (typeof cells.InvoiceDate === 'number' && cells.InvoiceDate >= LAST_DAYS_FROM) await lastDays.add(cells);
      }
    }
    for (const writer of [headerOnly, blank, cut, lastDays]) await writer.close();
    timings.push(
      `Reading the real workbook and writing the four exports: ${((performance.now() - started) / 1000).toFixed(1)} s ` +
        `(the blank-CustomerID export, ${blank.rows.toLocaleString('en-US')} rows: ${(blank.elapsedMs / 1000).toFixed(1)} s of it; ` +
        `last days: ${lastDays.rows.toLocaleString('en-US')} rows)`,
    );
    expect([headerOnly.rows, blank.rows, cut.rows]).toEqual([0, (await onlineRetailReference()).rowsRead, CUT_AFTER_ROWS]);
  });

  afterAll(async () => {
    const lines = ['| export | check | outcome | measured | published | run |', '|---|---|---|---|---|---|'];
    for (const bad of BAD_EXPORTS) {
      const audit = audits.get(bad.name);
      if (!audit || audit.checks.length === 0) lines.push(`| ${bad.name} | (none compared) | ${notes.get(bad.name) ?? '—'} | | | |`);
      for (const check of audit?.checks ?? []) {
        lines.push(`| ${bad.name} | ${check.name} | ${check.outcome} | ${check.measured ?? '—'} | ${check.published ?? '—'} | ${check.run} |`);
      }
    }
    console.log([...timings, '', ...lines].join('\n'));
    await env?.cleanup();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Every column of every row, the bookkeeping ones included: "unchanged" means byte for byte. */
  async function table(): Promise<unknown[]> {
    return await env.db(TABLES.segments).orderBy('CustomerID').select('*');
  }

  async function run(file: string) {
    const result = await segmentExit(['run', '--file', path.join(dataDir, file), '--wait', '--json'], env.env);
    return { ...result, outcome: result.lastJson };
  }

  const failedChecks = (audit: RunAudit | undefined) => (audit?.checks ?? []).filter((check) => check.outcome === 'failed').map((check) => check.name);

  test('the real workbook is published with the reference figures (worked out from the CSV)', async () => {
    const { customers, low, high } = await onlineRetailReference();
    const published = await run('online-retail.xlsx');
    expect(published.code).toBe(0);
    expect(published.outcome).toMatchObject({ status: 'completed', published: true, customers, low, high, audit: { outcome: 'passed', comparedWith: null } });
    publishedRunId = published.outcome.runId;
    expect(await env.db(TABLES.segments).count({ n: '*' })).toEqual([{ n: customers }]);
  });

  const heldExports = BAD_EXPORTS.filter((bad): bad is BadExport & { failed: AuditCheckName[] } => bad.failed !== 'superseded');
  const cutOff = BAD_EXPORTS.find((bad) => bad.failed === 'superseded')!;

  test.each(heldExports)('$name is held for an operator, and customer_segments stays as it was until it is aborted', async (bad) => {
    expect(publishedRunId).toBeDefined();
    const before = await table();
    const held = await run(bad.file);
    audits.set(bad.name, held.outcome?.audit);
    let aborted: Awaited<ReturnType<typeof segmentExit>> | undefined;
    try {
      expect(held.outcome).toMatchObject({ status: 'awaiting-operator', failedStep: 'audit', published: false, audit: { outcome: 'held', comparedWith: publishedRunId } });
      expect(held.code).toBe(3);
      expect(failedChecks(held.outcome.audit).sort()).toEqual([...bad.failed].sort());
      expect(await table()).toEqual(before);
    } finally {
      // Aborted even when an expectation failed: a held run would otherwise wait on a dead task queue.
      if (held.outcome?.status === 'awaiting-operator') {
        aborted = await segmentExit(['abort', held.outcome.workflowId, '--reason', 'bad export', '--wait', '--json'], env.env);
      }
    }
    expect(aborted?.code).toBe(1);
    expect(aborted?.lastJson).toMatchObject({ workflowId: held.outcome.workflowId, status: 'failed' });
    expect(await table()).toEqual(before);
  });

  // Not what "every bad night is held" promises: the run ends superseded, exit 0, and nobody is
  // asked. The table is safe (older data never replaces newer), but the night is not flagged.
  test(`a file ${cutOff.name} holds only its first day's data: it is superseded without being compared, not held, and the table stays as it was`, async () => {
    expect(publishedRunId).toBeDefined();
    const before = await table();
    const superseded = await run(cutOff.file);
    audits.set(cutOff.name, superseded.outcome?.audit);
    notes.set(
      cutOff.name,
      `${superseded.outcome?.status}: ${superseded.outcome?.customers} customers, data date ${superseded.outcome?.dataDate}, not held`,
    );
    expect(superseded.code).toBe(0);
    expect(superseded.outcome).toMatchObject({
      status: 'superseded',
      published: false,
      dataDate: '2010-12-01T14:34:00',
      audit: { outcome: 'passed', comparedWith: publishedRunId, checks: [], superseded: true },
    });
    expect(await table()).toEqual(before);
  });
}, [ONLINE_RETAIL_XLSX, ONLINE_RETAIL_CSV_GZ]);
