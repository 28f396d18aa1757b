/**
 * A CSV export runs like a workbook: the real data as ../shared/data/online-retail.csv.gz, through
 * the real Temporal, Kafka and MySQL, gives the same customer_segments and the same run summary as
 * the same data as online-retail.xlsx. Both files are copied into the test's own DATA_DIR.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { describeWithOnlineRetail, ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX, onlineRetailReference } from '../support/shared-data';
import { segments, startSegmentation, type SegmentRow } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(600_000);

describeWithOnlineRetail(
  'a CSV export against the same data as xlsx',
  () => {
    let dataDir: string;
    let env: TestEnvironment;
    const runs: Record<'xlsx' | 'csv', { result: SegmentationProgress; table: SegmentRow[] }> = {} as never;

    beforeAll(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'csv-exports-'));
      fs.mkdirSync(path.join(dataDir, 'exports'));
      fs.copyFileSync(ONLINE_RETAIL_XLSX, path.join(dataDir, 'exports', 'online-retail-2011-12-09.xlsx'));
      fs.copyFileSync(ONLINE_RETAIL_CSV_GZ, path.join(dataDir, 'exports', 'online-retail-2011-12-09.csv.gz'));
      env = await createTestEnvironment('csv_exports', { dataDir });
      await env.startWorker();
      // The xlsx first, then the CSV by a pattern, as a nightly schedule would name it.
      for (const [kind, file] of [['xlsx', 'exports/online-retail-2011-12-09.xlsx'], ['csv', 'exports/online-retail-*.csv.gz']] as const) {
        const handle = await startSegmentation(env.client, env.config, { file }, `csv-exports-${kind}`);
        runs[kind] = { result: await handle.result(), table: await segments(env.db) };
      }
    });

    afterAll(async () => {
      await env?.cleanup();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    test('both runs complete and publish, the CSV read as its one sheet "CSV"', () => {
      expect(runs.xlsx.result.status).toBe('completed');
      expect(runs.csv.result.status).toBe('completed');
      expect(runs.csv.result.summary?.published).toBe(true);
      expect(runs.csv.result.files?.map(({ file, sheets }) => ({ file, sheets }))).toEqual([{ file: 'exports/online-retail-2011-12-09.csv.gz', sheets: ['CSV'] }]);
    });

    test('customer_segments is identical, and equals the reference figures', async () => {
      expect(runs.csv.table).toEqual(runs.xlsx.table);
      const reference = await onlineRetailReference();
      expect(runs.csv.table).toHaveLength(reference.customers);
      expect(runs.csv.table.filter((row) => row.FrequencyCategory === 'High Frequency')).toHaveLength(reference.high);
    });

    test('the run summaries agree: rows read, kept, dropped by rule, newest invoice, customers', () => {
      const { summary: csv } = runs.csv.result;
      const { summary: xlsx } = runs.xlsx.result;
      for (const field of ['rowsRead', 'rowsKept', 'customers', 'low', 'high', 'purchases'] as const) expect(csv?.[field]).toEqual(xlsx?.[field]);
      // The same report, but for the file and sheet it names.
      const { sheetsRead: csvSheets, ...csvQuality } = csv!.dataQuality;
      const { sheetsRead: xlsxSheets, ...xlsxQuality } = xlsx!.dataQuality;
      expect(csvQuality).toEqual(xlsxQuality);
      expect(csvSheets).toEqual(xlsxSheets?.map((read) => ({ ...read, file: 'exports/online-retail-2011-12-09.csv.gz', sheet: 'CSV' })));
    });
  },
  [ONLINE_RETAIL_XLSX, ONLINE_RETAIL_CSV_GZ],
);
