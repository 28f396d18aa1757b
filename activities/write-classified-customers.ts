/**
 * How the classify step writes a batch of classified customers into the run's history rows, inside
 * the batch's own transaction (activities/classify-customers.ts: the rows, the consumer position
 * and the fence check commit together or not at all).
 *
 * The fast way is `LOAD DATA LOCAL INFILE ... REPLACE`, the rows streamed from memory as
 * tab-separated text: MySQL parses no SQL per row and binds nothing, which makes it several times
 * faster than a multi-row INSERT of the same rows (docs/performance.md). It needs the server's
 * `local_infile` (MySQL 8 ships it OFF); without it the worker writes the same rows with today's
 * INSERT ... ON DUPLICATE KEY UPDATE. Either way a customer met again (a chunk re-sent) keeps the
 * later message's values, and it needs nothing but INSERT and DELETE on the table (no FILE
 * privilege: the file is the client's).
 */
import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import type { MysqlLocalInfile } from '../lib/config';
import { TABLES } from '../lib/tables';
import type { CustomerRow } from './purchase-count-message';

/** One row of `customer_segment_history`, as the classify step writes it. */
export interface ClassifiedCustomer extends CustomerRow {
  RunId: string;
  FrequencyCategory: string;
  RecordedAt: Date;
}

/** Every column, in the order of the tab-separated text. */
const COLUMNS = ['RunId', 'CustomerID', 'PurchaseCount', 'FrequencyCategory', 'RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment', 'RecordedAt'] as const;
/** The columns a customer met again takes from the later message: all but the key. */
const UPDATED_COLUMNS = COLUMNS.filter((column) => column !== 'RunId' && column !== 'CustomerID');

/**
 * Per worker: how it writes. Starts as detected (historyWriterFor); a server that refuses LOAD DATA
 * LOCAL later (local_infile turned off while the worker runs) switches it to INSERT for good.
 */
export interface HistoryWriter {
  mode: 'load-data' | 'insert';
  /** Where the one line saying it falls back goes (the worker's logger). */
  warn: (message: string) => void;
}

const TURN_IT_ON =
  `for the faster LOAD DATA LOCAL INFILE, start MySQL with --local-infile=1 (or SET PERSIST local_infile = 1; see docs/deployment.md "MySQL's local_infile")`;

/** Once per worker: LOAD DATA LOCAL if the server allows it and MYSQL_LOCAL_INFILE is not `off`. */
export async function historyWriterFor(db: Knex, setting: MysqlLocalInfile, warn: (message: string) => void): Promise<HistoryWriter> {
  if (setting === 'off') {
    warn(`classify writes history rows with INSERT: MYSQL_LOCAL_INFILE is off (${TURN_IT_ON}, and unset MYSQL_LOCAL_INFILE)`);
    return { mode: 'insert', warn };
  }
  const [[{ enabled }]] = (await db.raw('SELECT @@GLOBAL.local_infile AS enabled')) as [[{ enabled: number | string }]];
  if (Number(enabled) !== 1) {
    warn(`classify writes history rows with INSERT: the MySQL server has local_infile off (${TURN_IT_ON})`);
    return { mode: 'insert', warn };
  }
  return { mode: 'load-data', warn };
}

/**
 * The server's refusals of LOAD DATA LOCAL (its local_infile off, or a client that does not offer it), by
 * errno: ER_NOT_ALLOWED_COMMAND (MySQL 5.7, older MariaDB), ER_CLIENT_LOCAL_FILES_DISABLED (MySQL 8),
 * ER_LOAD_INFILE_CAPABILITY_DISABLED (MariaDB 10.5 and later, which mysql2 gives no code name).
 */
const LOCAL_INFILE_REFUSED = new Set([1148, 3948, 4166]);

/** Writes the rows in `trx`; a customer already there for the run takes these values. */
export async function writeClassifiedCustomers(trx: Knex.Transaction, rows: ClassifiedCustomer[], writer: HistoryWriter): Promise<void> {
  if (rows.length === 0) return;
  if (writer.mode === 'load-data') {
    try {
      await loadData(trx, rows);
      return;
    } catch (error) {
      // A refused statement leaves the transaction as it was: the same rows go in with INSERT instead.
      if (!LOCAL_INFILE_REFUSED.has((error as { errno?: number }).errno ?? 0)) throw error;
      writer.mode = 'insert';
      writer.warn(`classify writes history rows with INSERT from now on: the MySQL server refused LOAD DATA LOCAL INFILE (${TURN_IT_ON})`);
    }
  }
  await trx(TABLES.segmentHistory).insert(rows).onConflict(['RunId', 'CustomerID']).merge(UPDATED_COLUMNS);
}

async function loadData(trx: Knex.Transaction, rows: ClassifiedCustomer[]): Promise<void> {
  const text = Buffer.from(tabSeparated(rows), 'utf8');
  // The file name is only a label: mysql2 hands the server this stream, not a file. The text uses
  // LOAD DATA's default format (tab between fields, newline after each row, backslash escapes),
  // so sql_mode's NO_BACKSLASH_ESCAPES cannot change how the statement reads. CHARACTER SET:
  // the text is utf8mb4 whatever the database's default is.
  const [result] = (await trx
    .raw(`LOAD DATA LOCAL INFILE 'classified-customers.tsv' REPLACE INTO TABLE ?? CHARACTER SET utf8mb4 (${COLUMNS.join(', ')})`, [TABLES.segmentHistory])
    .options({ infileStreamFactory: () => Readable.from([text]) })) as [{ warningStatus?: number }];
  // LOCAL turns what strict mode would refuse (a value that does not fit) into a warning and a
  // changed value: any warning means a row did not round-trip, and the transaction must not commit.
  if (result.warningStatus) {
    const [warnings] = (await trx.raw('SHOW WARNINGS LIMIT 3')) as [Array<{ Message: string }>];
    throw new Error(`LOAD DATA of ${rows.length} classified customers gave ${result.warningStatus} warning(s): ${warnings.map((w) => w.Message).join('; ')}`);
  }
}

/** The rows as LOAD DATA's default text format reads them: `\N` is NULL, and \ tab newline CR NUL are escaped. */
export function tabSeparated(rows: ClassifiedCustomer[]): string {
  let text = '';
  // A batch's rows share one time: formatted once, not per row (it showed in a profile).
  let recordedAt: Date | undefined;
  let recordedAtText = '';
  for (const row of rows) {
    if (row.RecordedAt !== recordedAt) {
      recordedAt = row.RecordedAt;
      recordedAtText = datetime(recordedAt);
    }
    text +=
      `${escapeText(row.RunId)}\t${row.CustomerID}\t${row.PurchaseCount}\t${escapeText(row.FrequencyCategory)}\t${row.RecencyDays ?? '\\N'}\t` +
      `${escapeText(row.Monetary)}\t${row.RecencyScore}\t${row.FrequencyScore}\t${row.MonetaryScore}\t${escapeText(row.RfmSegment)}\t${recordedAtText}\n`;
  }
  return text;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

function escapeText(value: string): string {
  return /[\\\t\n\r\0]/.test(value) ? value.replace(/[\\\t\n\r\0]/g, (character) => ESCAPES[character]) : value;
}

/** DATETIME(3) in UTC, as the INSERT path writes a Date (the connection's time zone is 'Z'). */
function datetime(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}
