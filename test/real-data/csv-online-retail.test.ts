/**
 * The real data both ways: ../shared/data/online-retail.csv.gz through the CSV reader and
 * ../shared/data/online-retail.xlsx through the fast workbook reader must give the same
 * data-quality report (rows read, drops by rule, newest invoice date), the same kept
 * (CustomerID, InvoiceNo) pairs and the same Quantity and UnitPrice on every kept line.
 * Reading both files whole takes many seconds of CPU, so it is the real-data project's, beside the
 * integration tests, not the unit layer's (which must stay under a minute).
 */
import { cleanTransaction } from '../../lib/cleaning/clean-transaction';
import { countRow, emptyDataQualityReport, type DataQualityReport } from '../../lib/cleaning/data-quality-report';
import { isoOfSerial } from '../../lib/workbook/decode-transaction-cell';
import { readTransactionRows } from '../../lib/workbook/read-transaction-rows';
import { describeWithOnlineRetail, ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX } from '../support/shared-data';

interface Reading {
  report: DataQualityReport;
  pairs: Set<string>;
  /** Each kept line's CustomerID, InvoiceNo, Quantity and UnitPrice, with how often it occurs. */
  lines: Map<string, number>;
  sheets: Set<string>;
}

async function read(filePath: string, displayName: string): Promise<Reading> {
  const reading: Reading = { report: emptyDataQualityReport(), pairs: new Set(), lines: new Map(), sheets: new Set() };
  let newest = 0;
  for await (const { sheet, rows } of readTransactionRows({ filePath, displayName })) {
    reading.sheets.add(sheet);
    for (const row of rows) {
      const cleaned = cleanTransaction(row);
      countRow(reading.report, cleaned);
      if (!cleaned.kept) continue;
      reading.pairs.add(`${cleaned.customerId}/${cleaned.invoiceNo}`);
      const line = `${cleaned.customerId}/${cleaned.invoiceNo}/${row.quantity}/${row.unitPrice}`;
      reading.lines.set(line, (reading.lines.get(line) ?? 0) + 1);
      if (row.invoiceDate! > newest) newest = row.invoiceDate!;
    }
  }
  reading.report.newestInvoiceDate = isoOfSerial(newest);
  return reading;
}

describeWithOnlineRetail(
  'the real Online Retail data as CSV and as xlsx',
  () => {
    let csv: Reading;
    let xlsx: Reading;
    beforeAll(async () => {
      csv = await read(ONLINE_RETAIL_CSV_GZ, 'online-retail.csv.gz');
      xlsx = await read(ONLINE_RETAIL_XLSX, 'online-retail.xlsx');
    }, 120_000);

    it('gives the same data-quality report', () => {
      expect(csv.sheets).toEqual(new Set(['CSV']));
      expect(csv.report).toEqual(xlsx.report);
      expect(csv.report).toMatchObject({ rowsRead: 541_909, rowsKept: 397_884, newestInvoiceDate: '2011-12-09T12:50:00' });
    });

    it('keeps the same (CustomerID, InvoiceNo) pairs', () => {
      expect(csv.pairs.size).toBe(xlsx.pairs.size);
      expect([...csv.pairs].filter((pair) => !xlsx.pairs.has(pair))).toEqual([]);
    });

    it('reads the same Quantity and UnitPrice on every kept line', () => {
      expect(csv.lines.size).toBe(xlsx.lines.size);
      expect([...csv.lines].filter(([line, count]) => xlsx.lines.get(line) !== count)).toEqual([]);
    });
  },
  [ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX],
);
