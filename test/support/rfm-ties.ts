/**
 * Ten customers who tie on each of the three RFM values, with the scores and segments worked out
 * by hand from the issue's definitions (N = 10, so a score is 1 + floor(L / 2)). The same lines
 * feed the plain reference (test/unit/plain-reference-counter.test.ts), the dry run's in-memory
 * scoring (test/unit/rfm-scores.test.ts) and a real run (test/integration/rfm-segments.test.ts):
 * three ways to one table.
 *
 * The ties, as of 2011-12-10 (the day after the newest invoice, 2011-12-09 12:50):
 * - recency: 12346 and 12347 have no dated line (the least recent, tied); 12349 and 12350 bought
 *   last on the same day at different times (192 days); 12353-12355 all on 2011-12-09 (1 day);
 * - frequency: 1 invoice (12346-12348), 2 (12349, 12350), 3 (12351-12353);
 * - monetary, tied on the stored cents: 1.005 rounds half up to the 1.01 of 12347 (binary floating
 *   point would make it 1.00), 12350's 24.999 + 25.001 is 12349's 50.00, and three customers reach
 *   100.00 by different sums. 12348's two lines add up to 1.004 (1.00): rounded once, per customer.
 * Band edges: 12348's L = 2 of 10 is exactly 1/5 (score 2), 12354's frequency L = 8 exactly 4/5 (5).
 * A cancellation and a zero-quantity line (dropped by cleaning) must not count.
 */
import type { CellValue } from 'exceljs';
import type { PlainRow } from './plain-segmentation';

export interface TieLine {
  invoiceNo: string;
  customerId: number;
  /** Decimal text, as Excel shows the number. */
  quantity: string;
  unitPrice: string;
  /** YYYY-MM-DD HH:MM:SS, or null for an empty date cell. */
  invoiceDate: string | null;
}

const line = (invoiceNo: string, customerId: number, quantity: string, unitPrice: string, invoiceDate: string | null): TieLine => ({
  invoiceNo,
  customerId,
  quantity,
  unitPrice,
  invoiceDate,
});

export const TIE_LINES: TieLine[] = [
  line('550001', 12346, '1', '1.005', null),
  line('550002', 12347, '1', '1.01', null),
  line('550003', 12348, '1', '0.5', '2011-01-01 10:00:00'),
  line('550003', 12348, '1', '0.504', null),
  line('550004', 12349, '10', '2.5', '2011-06-01 09:00:00'),
  line('550005', 12349, '10', '2.5', '2011-05-01 09:00:00'),
  line('550006', 12350, '3', '8.333', '2011-06-01 17:30:00'),
  line('550007', 12350, '1', '25.001', '2011-03-15 12:00:00'),
  line('550008', 12351, '4', '10', '2011-11-01 08:00:00'),
  line('550009', 12351, '3', '10', '2011-10-01 08:00:00'),
  line('550010', 12351, '6', '5', '2011-09-01 08:00:00'),
  line('550011', 12352, '1', '50', '2011-12-01 08:00:00'),
  line('550012', 12352, '1', '49.99', '2011-11-20 08:00:00'),
  line('550013', 12352, '2', '0.005', '2011-11-10 08:00:00'),
  line('550014', 12353, '100', '0.333', '2011-12-09 08:00:00'),
  line('550015', 12353, '100', '0.334', '2011-12-08 08:00:00'),
  line('550016', 12353, '1', '33.3', '2011-12-07 08:00:00'),
  ...['550017', '550018', '550019', '550020', '550021'].map((invoice, i) => line(invoice, 12354, '1', '1.5', `2011-12-0${5 + i} 12:50:00`)),
  line('550099', 12354, '0', '100', '2011-12-09 12:00:00'),
  ...Array.from({ length: 8 }, (_, i) => line(String(550_030 + i), 12355, '1', '250', `2011-12-0${2 + i} 10:00:00`)),
  line('C550037', 12355, '-1', '250', '2011-12-09 11:00:00'),
];

/** customer_segments' RFM columns for TIE_LINES as of 2011-12-10, by hand. */
export const TIE_EXPECTED = [
  { CustomerID: 12346, PurchaseCount: 1, RecencyDays: null, Monetary: '1.01', RecencyScore: 1, FrequencyScore: 1, MonetaryScore: 1, RfmSegment: 'Hibernating' },
  { CustomerID: 12347, PurchaseCount: 1, RecencyDays: null, Monetary: '1.01', RecencyScore: 1, FrequencyScore: 1, MonetaryScore: 1, RfmSegment: 'Hibernating' },
  { CustomerID: 12348, PurchaseCount: 1, RecencyDays: 343, Monetary: '1.00', RecencyScore: 2, FrequencyScore: 1, MonetaryScore: 1, RfmSegment: 'Hibernating' },
  { CustomerID: 12349, PurchaseCount: 2, RecencyDays: 192, Monetary: '50.00', RecencyScore: 2, FrequencyScore: 2, MonetaryScore: 3, RfmSegment: 'Hibernating' },
  { CustomerID: 12350, PurchaseCount: 2, RecencyDays: 192, Monetary: '50.00', RecencyScore: 2, FrequencyScore: 2, MonetaryScore: 3, RfmSegment: 'Hibernating' },
  { CustomerID: 12351, PurchaseCount: 3, RecencyDays: 39, Monetary: '100.00', RecencyScore: 3, FrequencyScore: 3, MonetaryScore: 4, RfmSegment: 'Need Attention' },
  { CustomerID: 12352, PurchaseCount: 3, RecencyDays: 9, Monetary: '100.00', RecencyScore: 4, FrequencyScore: 3, MonetaryScore: 4, RfmSegment: 'Potential Loyalists' },
  { CustomerID: 12353, PurchaseCount: 3, RecencyDays: 1, Monetary: '100.00', RecencyScore: 4, FrequencyScore: 3, MonetaryScore: 4, RfmSegment: 'Potential Loyalists' },
  { CustomerID: 12354, PurchaseCount: 5, RecencyDays: 1, Monetary: '7.50', RecencyScore: 4, FrequencyScore: 5, MonetaryScore: 2, RfmSegment: 'Loyal Customers' },
  { CustomerID: 12355, PurchaseCount: 8, RecencyDays: 1, Monetary: '2000.00', RecencyScore: 4, FrequencyScore: 5, MonetaryScore: 5, RfmSegment: 'Loyal Customers' },
];

/** The lines as the plain reference reads a CSV's cells. */
export function tiePlainRows(): PlainRow[] {
  return TIE_LINES.map((tie) => ({
    invoiceNo: tie.invoiceNo,
    customerId: String(tie.customerId),
    quantity: tie.quantity,
    unitPrice: tie.unitPrice,
    invoiceDate: tie.invoiceDate ?? '',
  }));
}

/** The lines as a UCI-shaped sheet's rows (header first): numbers as number cells, dates as date cells. */
export function tieSheetRows(): CellValue[][] {
  const header = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'];
  const dateCell = (text: string | null) => (text === null ? null : new Date(`${text.replace(' ', 'T')}Z`));
  return [
    header,
    ...TIE_LINES.map((tie) => [
      /^\d+$/.test(tie.invoiceNo) ? Number(tie.invoiceNo) : tie.invoiceNo,
      '85123A',
      'WHITE HANGING HEART T-LIGHT HOLDER',
      Number(tie.quantity),
      dateCell(tie.invoiceDate),
      Number(tie.unitPrice),
      tie.customerId,
      'United Kingdom',
    ]),
  ];
}
