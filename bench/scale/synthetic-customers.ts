/**
 * A synthetic export of many customers, written where the load step leaves its work: a run's
 * distinct (customer, invoice) pairs in `staging_customer_invoices`. What follows (aggregate,
 * publish, consume and classify, reconcile) runs unchanged on it.
 *
 * Why at the staging level and not as a workbook: the scale bench is about the consume and commit
 * path; a million customers need millions of rows, several sheets of an Excel workbook (at most
 * 1,048,576 rows each) and a minute of loading before the first message is sent. The workbook
 * reader has its own bench (`npm run bench:reader`, up to 4x the UCI rows).
 *
 * PurchaseCount per customer is drawn from a geometric distribution (mean 2.5, about 8% above the
 * default threshold of 5): skewed like a retailer's customers, with few pairs per customer so the
 * staging stays small. The ground truth is computed while generating, never read back.
 */
import type { PurchaseCountMessage } from '../../activities/purchase-count-message';
import type { Knex } from 'knex';
import { frequencyCategory } from '../../lib/segmentation/frequency-category';
import { TABLES } from '../../lib/tables';
import { SeededRandom } from '../../lib/workbook/seeded-random';

export const FIRST_CUSTOMER_ID = 100_000;
/** Chance that a customer places one more invoice: mean 1 / (1 - p) = 2.5 invoices. */
const ANOTHER_INVOICE = 0.6;
const MAX_INVOICES = 200;
/** Rows per INSERT, and INSERTs in flight at once. */
const ROWS_PER_INSERT = 10_000;
const CONNECTIONS = 2;

export interface SyntheticExport {
  customers: number;
  /** Distinct (customer, invoice) pairs: the sum of PurchaseCount. */
  purchases: number;
  low: number;
  high: number;
  /** PurchaseCount per customer, indexed from FIRST_CUSTOMER_ID. */
  purchaseCounts: Uint16Array;
}

/** The export's customers and their PurchaseCount: the same for the same seed. */
export function syntheticExport(customers: number, seed: number, threshold: number): SyntheticExport {
  const random = new SeededRandom(seed);
  const purchaseCounts = new Uint16Array(customers);
  let purchases = 0;
  let high = 0;
  for (let i = 0; i < customers; i++) {
    let count = 1;
    while (count < MAX_INVOICES && random.chance(ANOTHER_INVOICE)) count++;
    purchaseCounts[i] = count;
    purchases += count;
    if (frequencyCategory(count, threshold) === 'High Frequency') high++;
  }
  return { customers, purchases, low: customers - high, high, purchaseCounts };
}

/** Where the synthetic pairs say they come from: one part, one batch. */
const SYNTHETIC_PART = { part_key: 'synthetic-export', file_no: 0, through_row: 1 };
const FIRST_DAY = Date.UTC(2011, 0, 1);

/** A customer's invoices on distinct days of 2011, spread by customer (recency differs between them). */
function invoiceDate(customer: number, invoice: number): Date {
  return new Date(FIRST_DAY + (((customer * 7) % 300) + invoice) * 86_400_000);
}

/** Replaces a run's staged pairs with the export's (as the worker's user: rows only). */
export async function stageSyntheticExport(db: Knex, runId: string, data: SyntheticExport): Promise<void> {
  await db(TABLES.stagingInvoices).where({ run_id: runId }).delete();
  let next = 0;
  const insertNext = async (): Promise<void> => {
    while (next < data.customers) {
      const rows: Array<Record<string, string | number | Date>> = [];
      while (next < data.customers && rows.length < ROWS_PER_INSERT) {
        const customerId = FIRST_CUSTOMER_ID + next;
        // Invoice numbers like the UCI export's six digits, distinct per customer.
        // A load part of its own, with a date and an amount per invoice as the load stages them (the aggregate step refuses pairs without).
        for (let invoice = 0; invoice < data.purchaseCounts[next]; invoice++) {
          rows.push({ run_id: runId, CustomerID: customerId, InvoiceNo: String(536_365 + invoice), ...SYNTHETIC_PART, InvoiceDate: invoiceDate(next, invoice), Amount: '12.50' });
        }
        next++;
      }
      await db(TABLES.stagingInvoices).insert(rows);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, insertNext));
}

/** A customer's message with RFM values of the usual size (derived from the id, not computed): what the benches send. */
export function syntheticMessage(customerId: number, purchaseCount: number): PurchaseCountMessage {
  const score = (salt: number) => 1 + ((customerId * salt) % 5);
  return {
    customerId,
    purchaseCount,
    recencyDays: customerId % 374,
    monetary: `${(customerId % 9_973) * purchaseCount}.${String(customerId % 100).padStart(2, '0')}`,
    recencyScore: score(7),
    frequencyScore: score(11),
    monetaryScore: score(13),
    segment: 'Potential Loyalists',
  };
}
