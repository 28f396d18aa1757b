/**
 * The fast reader and exceljs see the same cells, in all eight transaction columns, on every row
 * of the real UCI workbook. It needs no server, but exceljs takes most of a minute of CPU on the
 * 23 MB file: too long for the unit layer, which must stay under a minute, so it is the real-data
 * project's (jest.config.js), run beside the integration tests. The same comparison on small and
 * generated workbooks is test/unit/reader-equivalence.test.ts.
 */
import { compareReaders } from '../support/compare-readers';
import { describeWithOnlineRetail, ONLINE_RETAIL_XLSX } from '../support/shared-data';

describeWithOnlineRetail('fast reader and exceljs on the real UCI Online Retail workbook', () => {
  it('all 541,909 rows, all eight columns', async () => {
    const { rows, differences } = await compareReaders({ filePath: ONLINE_RETAIL_XLSX, displayName: 'online-retail.xlsx' });
    expect(differences.slice(0, 10)).toEqual([]);
    expect(rows).toBe(541_909);
    // exceljs alone takes most of a minute here; the test took 70 s in the outage lane beside the
    // integration tests on a 2-core machine, and a busier machine can take several times that. The
    // bound is for a hang only: what the test proves is the cells, not the time.
  }, 600_000);
});
