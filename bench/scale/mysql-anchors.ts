/**
 * The MySQL side of the scale bench, on the same rows: `LOAD DATA LOCAL INFILE` (the fastest way
 * rows get into InnoDB, the anchor) against the classify step's own commit path, and the
 * publication against a RENAME TABLE swap.
 */
import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import { commitBatch } from '../../activities/classify-customers';
import type { HistoryWriter } from '../../activities/write-classified-customers';
import { messageOfRow, type CustomerRow } from '../../activities/purchase-count-message';
import type { MysqlSettings } from '../../lib/config';
import { TABLES } from '../../lib/tables';

export interface HistoryRow extends CustomerRow {
  FrequencyCategory: string;
}

/** Every column the classify step writes but the run and the time, in this order (LOAD DATA's too). */
const HISTORY_COLUMNS = ['CustomerID', 'PurchaseCount', 'FrequencyCategory', 'RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment'] as const;

export interface Timed {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

const timed = async (rows: number, work: () => Promise<unknown>): Promise<Timed> => {
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  return { rows, seconds, rowsPerSecond: rows / seconds };
};

/** A run's history rows, in CustomerID order. */
export async function historyRows(db: Knex, runId: string): Promise<HistoryRow[]> {
  return await db(TABLES.segmentHistory).where({ RunId: runId }).orderBy('CustomerID').select(...HISTORY_COLUMNS);
}

/**
 * The rows into an empty table made like `customer_segment_history` (same keys and indexes), with
 * one `LOAD DATA LOCAL INFILE` over one connection, streamed from memory. Needs the server's
 * local_infile (the stack starts MariaDB with it) and DDL for the scratch table (the migration user).
 */
export async function loadDataLocalInfile(migration: MysqlSettings, runId: string, rows: HistoryRow[]): Promise<Timed> {
  const table = `history_load_data_${process.pid}`;
  const recordedAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
  const connection = await mysql.createConnection({
    ...migration,
    infileStreamFactory: () => Readable.from(tabSeparated(runId, recordedAt, rows)),
  });
  try {
    const [[{ enabled }]] = await connection.query<mysql.RowDataPacket[]>('SELECT @@local_infile AS enabled');
    if (Number(enabled) !== 1) {
      throw new Error('the MySQL server has local_infile off: `segment stack down mysql && segment stack up` restarts it with --local-infile=1');
    }
    await connection.query(`DROP TABLE IF EXISTS ${mysql.escapeId(table)}`);
    await connection.query(`CREATE TABLE ${mysql.escapeId(table)} LIKE ${mysql.escapeId(TABLES.segmentHistory)}`);
    return await timed(rows.length, () =>
      connection.query(
        `LOAD DATA LOCAL INFILE 'history.tsv' INTO TABLE ${mysql.escapeId(table)} (RunId, ${HISTORY_COLUMNS.join(', ')}, RecordedAt)`,
      ),
    );
  } finally {
    await connection.query(`DROP TABLE IF EXISTS ${mysql.escapeId(table)}`).catch(() => undefined);
    await connection.end();
  }
}

function* tabSeparated(runId: string, recordedAt: string, rows: HistoryRow[]): Generator<Buffer> {
  let chunk = '';
  for (const row of rows) {
    // \N is LOAD DATA's NULL.
    chunk += `${runId}\t${HISTORY_COLUMNS.map((column) => row[column] ?? '\\N').join('\t')}\t${recordedAt}\n`;
    if (chunk.length >= 1 << 16) {
      yield Buffer.from(chunk);
      chunk = '';
    }
  }
  yield Buffer.from(chunk);
}

/**
 * The same rows through the classify step's commit path (history rows and consumer position in one
 * transaction per batch of `batchSize`), partitions spread over `connections` connections at once
 * as parallel classify activities would. Written under a run id of their own, removed afterwards.
 */
export async function classifyCommitPath(
  db: Knex,
  options: { runId: string; rows: HistoryRow[]; partitions: number; batchSize: number; connections: number; threshold: number; writer: HistoryWriter },
): Promise<Timed> {
  const { runId, rows, partitions, batchSize, connections, threshold, writer } = options;
  const byPartition: HistoryRow[][] = Array.from({ length: partitions }, () => []);
  for (const row of rows) byPartition[row.CustomerID % partitions].push(row);
  const queue = byPartition.map((partitionRows, partition) => ({ partition, partitionRows }));
  const result = await timed(rows.length, () =>
    Promise.all(
      Array.from({ length: connections }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const { partition, partitionRows } = next;
          for (let start = 0; start < partitionRows.length; start += batchSize) {
            const slice = partitionRows.slice(start, start + batchSize);
            await commitBatch(db, {
              runId,
              topic: 'commit-path-bench',
              partition,
              nextOffset: BigInt(start + slice.length),
              rows: new Map(slice.map((row) => [row.CustomerID, messageOfRow(row)])),
              runMessages: slice.length,
              threshold,
            }, writer);
          }
        }
      }),
    ),
  );
  await db(TABLES.segmentHistory).where({ RunId: runId }).delete();
  await db(TABLES.consumerOffsets).where({ run_id: runId }).delete();
  return result;
}

/**
 * What a RENAME TABLE swap would cost instead of the publication: the run's rows into a new table,
 * then one atomic RENAME over the table readers would read. `customer_segments` is a view since
 * migration 016, so the swap runs on a scratch pair made like the history (same keys), dropped
 * afterwards. Needs CREATE and DROP (the migration user), which the worker's user does not have.
 */
export async function renameSwap(migration: MysqlSettings, runId: string, rows: number): Promise<Timed> {
  const connection = await mysql.createConnection(migration);
  const [current, next, old] = ['current', 'next', 'old'].map((name) => mysql.escapeId(`swap_anchor_${process.pid}_${name}`));
  const history = mysql.escapeId(TABLES.segmentHistory);
  try {
    await connection.query(`CREATE TABLE ${current} LIKE ${history}`);
    return await timed(rows, async () => {
      await connection.query(`CREATE TABLE ${next} LIKE ${history}`);
      await connection.query(
        `INSERT INTO ${next} (RunId, ${HISTORY_COLUMNS.join(', ')}, RecordedAt)
         SELECT RunId, ${HISTORY_COLUMNS.join(', ')}, UTC_TIMESTAMP(3) FROM ?? WHERE RunId = ?`,
        [TABLES.segmentHistory, runId],
      );
      await connection.query(`RENAME TABLE ${current} TO ${old}, ${next} TO ${current}`);
      await connection.query(`DROP TABLE ${old}`);
    });
  } finally {
    await connection.query(`DROP TABLE IF EXISTS ${current}, ${next}, ${old}`).catch(() => undefined);
    await connection.end();
  }
}
