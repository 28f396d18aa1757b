/**
 * What makes the RFM bench's times comparable: both sides published the same seed columns for
 * every customer, the side without RFM really has no RFM columns, and the side with them has
 * all six filled for every customer.
 */
import mysql from 'mysql2/promise';
import { mysqlConnectionOptions, type MysqlSettings } from '../../lib/config';
import { TABLES } from '../../lib/tables';

const RFM_COLUMNS = ['RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment'];

export interface SegmentSize {
  RfmSegment: string;
  customers: number;
  monetary: string;
}

/** Throws naming what differs; returns the RFM side's segment sizes (customers and Monetary per segment). */
export async function checkPublishedResults(account: MysqlSettings, databases: { without: string; with: string }, customers: number): Promise<SegmentSize[]> {
  const connection = await mysql.createConnection(mysqlConnectionOptions(account));
  try {
    const seedRows = async (database: string) => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT CustomerID, PurchaseCount, FrequencyCategory FROM ??.?? ORDER BY CustomerID', [database, TABLES.segments]);
      return rows.map((row) => `${row.CustomerID}\t${row.PurchaseCount}\t${row.FrequencyCategory}`);
    };
    const without = await seedRows(databases.without);
    const withRfm = await seedRows(databases.with);
    const problems: string[] = [];
    if (without.length !== customers) problems.push(`without RFM: ${without.length} customers published, the runs counted ${customers}`);
    if (withRfm.length !== customers) problems.push(`with RFM: ${withRfm.length} customers published, the runs counted ${customers}`);
    const differing = without.filter((row, index) => row !== withRfm[index]);
    if (differing.length) problems.push(`${differing.length} seed rows differ, e.g. without RFM ${differing.slice(0, 3).join('; ')}`);

    const [[columns]] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name IN (?)',
      [databases.without, TABLES.segments, RFM_COLUMNS],
    );
    if (Number(columns.n) !== 0) problems.push(`without RFM: ${TABLES.segments} has ${columns.n} RFM columns: not the baseline`);

    const [[unfilled]] = await connection.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ??.?? WHERE ${RFM_COLUMNS.map((column) => `${mysql.escapeId(column)} IS NULL`).join(' OR ')}`, [
      databases.with,
      TABLES.segments,
    ]);
    if (Number(unfilled.n) !== 0) problems.push(`with RFM: ${unfilled.n} customers lack an RFM column`);
    if (problems.length) throw new Error(`the two sides' results do not match:\n  ${problems.join('\n  ')}`);

    const [sizes] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT RfmSegment, COUNT(*) AS customers, SUM(Monetary) AS monetary FROM ??.?? GROUP BY RfmSegment ORDER BY customers DESC, RfmSegment',
      [databases.with, TABLES.segments],
    );
    return sizes.map((row) => ({ RfmSegment: row.RfmSegment, customers: Number(row.customers), monetary: String(row.monetary) }));
  } finally {
    await connection.end();
  }
}
