/**
 * Publication in O(1) (issue 18): `customer_segments` becomes a view of the published run's rows
 * in `customer_segment_history`, which `segment_publication` names, instead of a copy of them. A
 * publication or a rollback then changes one row, whatever the run's size, and a reader's SELECT
 * reads the publication row and the history in one snapshot: the old run whole or the new one.
 *
 * - `segment_publication.history_key`: the RunId under which the history holds the published rows.
 *   The published run's own, or, while a reset rebuilds that run's history, a copy set aside under
 *   another key (lib/publication/published-run.ts).
 * - The columns, their names, types and order are the table's. With the publication's single row a
 *   constant, `WHERE CustomerID = ?` is one lookup of the history's primary key (RunId, CustomerID)
 *   and a full scan one range of it, on MariaDB and MySQL 8 alike (ALGORITHM=MERGE).
 * - SQL SECURITY DEFINER (the migrations' user): a reader needs SELECT on `customer_segments` only,
 *   as before. The worker's role is no longer granted rows on it (lib/worker-grants.ts).
 *
 * An installation keeps its published result: if the table holds exactly the published run's
 * history, the view shows that history; if not (a reset was rebuilding the published run, or rows
 * from before publications were recorded), the table's rows are copied aside and shown as they are.
 */
import type { Knex } from 'knex';
import { retainedHistoryKey } from '../lib/publication/published-run';
import { MAX_SEGMENT_NAME } from '../lib/segmentation/rfm-rules';

const SEGMENTS = 'customer_segments';
const HISTORY = 'customer_segment_history';
const PUBLICATION = 'segment_publication';
/** What the table and the history have in common, beyond the key. */
const RESULT_COLUMNS = ['PurchaseCount', 'FrequencyCategory', 'RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment'];
const RFM_COLUMNS = RESULT_COLUMNS.slice(2);
/**
 * The view and the table trade places in one RENAME TABLE, each made under its own name first:
 * dropping one before making the other left readers a moment with no customer_segments at all
 * (ER_NO_SUCH_TABLE, 14 reads in 720 over five downs and ups).
 */
const NEW_VIEW = `${SEGMENTS}_view`;
const OLD_TABLE = `${SEGMENTS}_table`;

async function isView(knex: Knex): Promise<boolean> {
  const [rows] = await knex.raw('SELECT table_type AS type FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [SEGMENTS]);
  return (rows as Array<{ type: string }>)[0]?.type === 'VIEW';
}

export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn(PUBLICATION, 'history_key'))) {
    // The history's RunId's own character set and collation: the view joins on it, through its primary key.
    const [[runId]] = await knex.raw(
      "SELECT character_set_name AS charset, collation_name AS collation FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'RunId'",
      [HISTORY],
    );
    await knex.raw(
      `ALTER TABLE ?? ADD COLUMN history_key VARCHAR(191) CHARACTER SET ${runId.charset} COLLATE ${runId.collation} NULL
       COMMENT 'RunId of the history rows customer_segments shows: the run''s own, or a copy set aside' AFTER run_id`,
      [PUBLICATION],
    );
    await knex(PUBLICATION).update({ history_key: knex.ref('run_id') });
  }
  // A migration run again after a crash past the view has nothing left to do but drop the old table.
  if (await isView(knex)) {
    await knex.schema.dropTableIfExists(OLD_TABLE);
    return;
  }

  const publication: { run_id: string | null } = await knex(PUBLICATION).where({ id: 1 }).first('run_id');
  const [[{ total, same }]] = await knex.raw(
    `SELECT COUNT(*) AS total, COALESCE(SUM(h.CustomerID IS NOT NULL AND BINARY s.RunId = BINARY ? AND ${RESULT_COLUMNS.map((column) => `BINARY s.${column} <=> BINARY h.${column}`).join(' AND ')}), 0) AS same
     FROM ?? s LEFT JOIN ?? h ON h.RunId = ? AND h.CustomerID = s.CustomerID`,
    [publication.run_id, SEGMENTS, HISTORY, publication.run_id],
  );
  const [{ historyRows }] = await knex(HISTORY).where({ RunId: publication.run_id ?? '' }).count({ historyRows: '*' });
  if (Number(total) !== Number(same) || Number(historyRows) !== Number(total)) {
    const kept = retainedHistoryKey(publication.run_id ?? 'before-publications');
    await knex(HISTORY).where({ RunId: kept }).delete();
    await knex.raw(`INSERT INTO ?? (RunId, CustomerID, ${RESULT_COLUMNS.join(', ')}, RecordedAt) SELECT ?, CustomerID, ${RESULT_COLUMNS.join(', ')}, UpdatedAt FROM ??`, [
      HISTORY,
      kept,
      SEGMENTS,
    ]);
    await knex(PUBLICATION).where({ id: 1 }).update({ history_key: kept });
  }
  await knex.raw(
    `CREATE OR REPLACE ALGORITHM=MERGE SQL SECURITY DEFINER VIEW ?? AS
     SELECT h.CustomerID, h.PurchaseCount, h.FrequencyCategory, p.run_id AS RunId, p.published_at AS UpdatedAt, ${RFM_COLUMNS.map((column) => `h.${column}`).join(', ')}
     FROM ?? p JOIN ?? h ON h.RunId = p.history_key
     WHERE p.id = 1`,
    [NEW_VIEW, PUBLICATION, HISTORY],
  );
  await knex.schema.dropTableIfExists(OLD_TABLE);
  await knex.raw('RENAME TABLE ?? TO ??, ?? TO ??', [SEGMENTS, OLD_TABLE, NEW_VIEW, SEGMENTS]);
  await knex.schema.dropTable(OLD_TABLE);
}

export async function down(knex: Knex): Promise<void> {
  if (await isView(knex)) {
    // The table as migrations 002 and 015 made it (their index names: 015's down drops one), filled from the view.
    const restored = `${SEGMENTS}_restored`;
    await knex.schema.dropTableIfExists(restored);
    await knex.raw(
      `CREATE TABLE ?? (
         CustomerID INT UNSIGNED NOT NULL,
         PurchaseCount INT UNSIGNED NOT NULL COMMENT 'distinct invoices',
         FrequencyCategory ENUM('Low Frequency', 'High Frequency') NOT NULL,
         RunId VARCHAR(191) NOT NULL COMMENT 'the run that last wrote this row',
         UpdatedAt DATETIME(3) NOT NULL,
         RecencyDays INT NULL COMMENT 'days from the newest invoice to the run''s as-of date',
         Monetary DECIMAL(30,2) NULL COMMENT 'sum of Quantity x UnitPrice over kept rows, exact, rounded half up to cents',
         RecencyScore TINYINT UNSIGNED NULL COMMENT '1-5',
         FrequencyScore TINYINT UNSIGNED NULL COMMENT '1-5',
         MonetaryScore TINYINT UNSIGNED NULL COMMENT '1-5',
         RfmSegment VARCHAR(${MAX_SEGMENT_NAME}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL COMMENT 'named segment of the recency and frequency scores',
         PRIMARY KEY (CustomerID),
         KEY customer_segments_frequencycategory_index (FrequencyCategory),
         KEY customer_segments_rfmsegment_index (RfmSegment)
       )`,
      [restored],
    );
    const columns = ['CustomerID', 'PurchaseCount', 'FrequencyCategory', 'RunId', ...RFM_COLUMNS];
    await knex.raw(`INSERT INTO ?? (${columns.join(', ')}, UpdatedAt) SELECT ${columns.join(', ')}, COALESCE(UpdatedAt, UTC_TIMESTAMP(3)) FROM ??`, [restored, SEGMENTS]);
    await knex.raw('DROP VIEW IF EXISTS ??', [NEW_VIEW]);
    await knex.raw('RENAME TABLE ?? TO ??, ?? TO ??', [SEGMENTS, NEW_VIEW, restored, SEGMENTS]);
    await knex.raw('DROP VIEW ??', [NEW_VIEW]);
  }
  if (await knex.schema.hasColumn(PUBLICATION, 'history_key')) {
    // A copy set aside is no run's history.
    await knex.raw('DELETE h FROM ?? h JOIN ?? p ON p.id = 1 AND h.RunId = p.history_key WHERE NOT (p.history_key <=> p.run_id)', [HISTORY, PUBLICATION]);
    await knex.schema.alterTable(PUBLICATION, (table) => table.dropColumn('history_key'));
  }
}
