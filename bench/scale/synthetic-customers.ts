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
/** The staged pairs' load part (the load step's is a sha256 of file and sheet). */
const SYNTHETIC_PART = 'synthetic';
/** Invoice dates spread over the year before the UCI export's last day. */
const LAST_INVOICE_AT = Date.UTC(2011, 11, 9);
const DAY_MS = 86_400_000;

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

/** Replaces a run's staged pairs with the export's (as the worker's user: rows only). */
export async function stageSyntheticExport(db: Knex, runId: string, data: SyntheticExport): Promise<void> {
  await db(TABLES.stagingInvoices).where({ run_id: runId }).delete();
  let next = 0;
  const insertNext = async (): Promise<void> => {
    while (next < data.customers) {
      const rows: Array<{ run_id: string; CustomerID: number; InvoiceNo: string; part_key: string; InvoiceDate: Date; Amount: string }> = [];
      while (next < data.customers && rows.length < ROWS_PER_INSERT) {
        const customerId = FIRST_CUSTOMER_ID + next;
        // Invoice numbers like the UCI export's six digits, distinct per customer.
        // With a part, a date and an amount, as the load step stages them (the aggregate step refuses pairs without).
        for (let invoice = 0; invoice < data.purchaseCounts[next]; invoice++) {
          rows.push({
            run_id: runId,
            CustomerID: customerId,
            InvoiceNo: String(536_365 + invoice),
            part_key: SYNTHETIC_PART,
            InvoiceDate: new Date(LAST_INVOICE_AT - ((customerId + invoice * 31) % 365) * DAY_MS),
            Amount: `${1 + ((customerId + invoice) % 200)}.${String(customerId % 100).padStart(2, '0')}`,
          });
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
