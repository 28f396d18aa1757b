/**
 * Invoice numbers compared byte for byte. The staged pairs were a `utf8mb4_unicode_ci` VARCHAR(32):
 * case-insensitive and blind to trailing spaces, so 'a1' and 'A1 ' counted as one invoice in MySQL
 * but two in the dry run, and the key's collation, not our rules, decided what "distinct" meant.
 * VARBINARY compares exactly what the reader decoded, like a JavaScript Set, on MySQL and MariaDB
 * alike; its size fits the longest invoice number the decoder accepts, in UTF-8.
 */
import type { Knex } from 'knex';
import { INVOICE_NO_MAX_BYTES } from '../lib/segmentation/business-keys';

const STAGING_INVOICES = 'staging_customer_invoices';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(STAGING_INVOICES, (table) => {
    table.specificType('InvoiceNo', `VARBINARY(${INVOICE_NO_MAX_BYTES})`).notNullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  // Pairs that only differ in case or trailing spaces would collide under the old key.
  await knex(STAGING_INVOICES).delete();
  await knex.schema.alterTable(STAGING_INVOICES, (table) => {
    table.string('InvoiceNo', 32).notNullable().alter();
  });
}
