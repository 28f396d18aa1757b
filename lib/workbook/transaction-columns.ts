/** The header of the retailer's transaction export, as in the UCI "Online Retail" workbook. */
export const TRANSACTION_COLUMNS = [
  'InvoiceNo',
  'StockCode',
  'Description',
  'Quantity',
  'InvoiceDate',
  'UnitPrice',
  'CustomerID',
  'Country',
] as const;

export type TransactionColumn = (typeof TRANSACTION_COLUMNS)[number];

/**
 * The columns the pipeline decodes. The header check still asks for all eight: a workbook without
 * them is not the export we were promised, even if the five we read happen to be there.
 */
export const DECODED_COLUMNS = ['InvoiceNo', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID'] as const satisfies readonly TransactionColumn[];

export type DecodedColumn = (typeof DECODED_COLUMNS)[number];
