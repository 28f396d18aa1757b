import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { generateWorkbook, noDirt, zipBacklogBytes, type GeneratedDirt, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { previewWorkbook } from '../../lib/workbook/preview-workbook';
import { makeTempDir } from './support/write-workbook';

const { dir, cleanup } = makeTempDir('generate-workbook');
afterAll(cleanup);

describe('generateWorkbook + previewWorkbook', () => {
  const filePath = join(dir, 'generated', 'online-retail-20k.xlsx');
  let generated: GeneratedWorkbook;
  beforeAll(async () => {
    generated = await generateWorkbook({ outPath: filePath, rows: 20_000, seed: 42 });
  });

  it('previews exactly the figures the generator meant to write', async () => {
    const preview = await previewWorkbook({ filePath, displayName: 'generated/online-retail-20k.xlsx' });
    expect(preview.report).toEqual({ rowsRead: generated.rowsRead, rowsKept: generated.rowsKept, rowsDropped: generated.rowsDropped, newestInvoiceDate: generated.newestInvoiceDate });
    expect({ customers: preview.customers, low: preview.low, high: preview.high, purchases: preview.purchases }).toEqual({
      customers: generated.customers,
      low: generated.low,
      high: generated.high,
      purchases: generated.purchases,
    });
    expect(preview.topCustomers).toHaveLength(10);
    expect(preview.topCustomers[0].purchaseCount).toBeGreaterThanOrEqual(preview.topCustomers[9].purchaseCount);
  });

  it('writes the rows asked for, with both segments and every cleaning rule at work', () => {
    expect(generated.rowsRead).toBe(20_000);
    expect(generated.low).toBeGreaterThan(0);
    expect(generated.high).toBeGreaterThan(0);
    expect(generated.rowsDropped.missingCustomerId / generated.rowsRead).toBeCloseTo(0.25, 1);
    expect(generated.rowsDropped.cancellation).toBeGreaterThan(0);
    expect(generated.rowsDropped.nonPositiveQuantity).toBeGreaterThan(0);
    expect(generated.rowsDropped.nonPositiveUnitPrice).toBeGreaterThan(0);
    expect(Object.values(generated.dirt).every((count) => count > 0)).toBe(true);
    expect(readdirSync(join(dir, 'generated'))).toEqual(['online-retail-20k.xlsx']); // no partial file left behind
  });

  it('puts every kind of dirt it reports into the file, as the UCI workbook stores it', async () => {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(filePath);
    const sheet = workbook.getWorksheet('Online Retail');
    if (sheet === undefined) throw new Error('no "Online Retail" sheet');
    expect(sheet.getRow(1).values).toEqual([undefined, 'InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country']);

    const census: GeneratedDirt = noDirt();
    let datesWithFormat = 0;
    sheet.eachRow((row, rowNumber) => {
      if (rowNumber === 1) return;
      const [invoiceNo, , description, quantity, invoiceDate, unitPrice, customerId] = [1, 2, 3, 4, 5, 6, 7].map((column) => row.getCell(column).value);
      const isCancellation = typeof invoiceNo === 'string' && invoiceNo.startsWith('C');
      if (customerId === null) census.rowsWithoutCustomerId += 1;
      if (isCancellation) census.cancellationRows += 1;
      if (!isCancellation && Number(quantity) < 0) census.negativeQuantitiesOnNormalInvoices += 1;
      if (Number(unitPrice) === 0) census.zeroUnitPrices += 1;
      if (typeof customerId === 'string') census.customerIdsAsText += 1;
      if (typeof quantity === 'string') census.quantitiesAsText += 1;
      if (typeof invoiceNo === 'string' && !isCancellation) census.invoiceNosAsText += 1;
      if (typeof unitPrice === 'string') census.unitPricesAsText += 1;
      for (const value of [invoiceNo, quantity, unitPrice, customerId]) {
        if (typeof value === 'string' && value !== value.trim()) census.paddedNumbersAsText += 1;
      }
      if (typeof description === 'string' && description !== description.trim()) census.paddedDescriptions += 1;
      if (description === null) census.missingDescriptions += 1;
      if (invoiceDate instanceof Date && row.getCell(5).numFmt === 'm/d/yy h:mm') datesWithFormat += 1;
    });
    expect(census).toEqual(generated.dirt);
    expect(datesWithFormat).toBe(20_000);
  });

  it('is deterministic for a seed', async () => {
    const first = await generateWorkbook({ outPath: join(dir, 'seed-a.xlsx'), rows: 3_000, seed: 7 });
    const again = await generateWorkbook({ outPath: join(dir, 'seed-b.xlsx'), rows: 3_000, seed: 7 });
    const other = await generateWorkbook({ outPath: join(dir, 'seed-c.xlsx'), rows: 3_000, seed: 8 });
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  // The generator bounds its memory by watching exceljs internals; an upgrade that moves them must show up here.
  it('can still see how much sheet XML waits for the zip', async () => {
    const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: join(dir, 'backlog.xlsx') });
    const sheet = writer.addWorksheet('Online Retail');
    sheet.addRow(['InvoiceNo']).commit();
    expect(zipBacklogBytes(sheet)).toEqual(expect.any(Number));
    sheet.commit();
    await writer.commit();
  });

  it('goes on to the next sheet past rowsPerSheet (as past Excel\'s row limit), figures still exact', async () => {
    const outPath = join(dir, 'split.xlsx');
    const split = await generateWorkbook({ outPath, rows: 5_000, seed: 42, rowsPerSheet: 2_000 });
    expect(split.sheets).toEqual(['Online Retail', 'Online Retail 2', 'Online Retail 3']);
    const preview = await previewWorkbook({ filePath: outPath, displayName: 'split.xlsx' });
    expect(preview.sheets).toEqual(split.sheets);
    expect(preview.report).toEqual({ rowsRead: 5_000, rowsKept: split.rowsKept, rowsDropped: split.rowsDropped, newestInvoiceDate: split.newestInvoiceDate });
    expect({ customers: preview.customers, low: preview.low, high: preview.high, purchases: preview.purchases }).toEqual({
      customers: split.customers,
      low: split.low,
      high: split.high,
      purchases: split.purchases,
    });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(outPath);
    expect(workbook.worksheets.map((sheet) => sheet.actualRowCount)).toEqual([2_001, 2_001, 1_001]);
  });

  it('writes a header-only workbook for zero rows', async () => {
    const outPath = join(dir, 'empty.xlsx');
    const generatedEmpty = await generateWorkbook({ outPath, rows: 0 });
    expect(existsSync(outPath)).toBe(true);
    expect(generatedEmpty).toMatchObject({ rowsRead: 0, customers: 0 });
    const preview = await previewWorkbook({ filePath: outPath, displayName: 'empty.xlsx' });
    expect(preview.report.rowsRead).toBe(0);
  });
});
