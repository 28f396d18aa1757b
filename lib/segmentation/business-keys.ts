/**
 * What a customer number and an invoice number may be, in one place: the workbook decoders refuse
 * anything else (naming the row and column), and the migrations size the MySQL columns from these,
 * so a value that reaches MySQL always fits and is never truncated or merged with another.
 *
 * Imported by workflow code too: keep it free of Node and of I/O.
 */

/** `CustomerID` is an unsigned INT in MySQL (the older design's column). */
export const CUSTOMER_ID_MAX = 4_294_967_295;

/**
 * Longest invoice number accepted, in characters (the UCI export's are 6 or 7). Two invoice
 * numbers are the same invoice when their trimmed text is identical, byte for byte: case and
 * inner spaces count. The dry run compares JavaScript strings; MySQL compares VARBINARY bytes.
 */
export const INVOICE_NO_MAX_LENGTH = 32;

/** Bytes the VARBINARY column needs for the longest invoice number in UTF-8. */
export const INVOICE_NO_MAX_BYTES = INVOICE_NO_MAX_LENGTH * 4;
