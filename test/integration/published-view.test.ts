/**
 * `customer_segments` as a view of the published run's history (migration 016): a publication
 * changes one row, and a reader sees one run's rows whole, never a mix, even while the published
 * run's own history is rebuilt by a reset. A point lookup by CustomerID stays one primary-key
 * lookup; the worker reads the view but cannot write through it; an installation keeps its
 * published result across the migration, up and down.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import { publishRunOnPurpose } from '../../cli/commands/publish';
import { mysqlConnectionOptions } from '../../lib/config';
import { createDatabase, migrateToLatest, pendingMigrations } from '../../lib/database';
import { lockPublication, replacePublishedSegments, retainedHistoryKey, setPublishedRowsAside } from '../../lib/publication/published-run';
import { TABLES } from '../../lib/tables';
import { workerRole } from '../../lib/worker-grants';
import { readDatabaseFigures } from '../../workers/database-gauges';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(120_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'published-view-'));
let env: TestEnvironment;

beforeAll(async () => {
  env = await createTestEnvironment('published_view', { dataDir });
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Row {
  CustomerID: number;
  PurchaseCount: number;
  FrequencyCategory: string;
}

/** A run's history: `customers` customers from `first`, each with `purchases` invoices. */
function rowsOf(first: number, customers: number, purchases: number): Row[] {
  return Array.from({ length: customers }, (_, i) => ({
    CustomerID: first + i,
    PurchaseCount: purchases,
    FrequencyCategory: purchases > 5 ? 'High Frequency' : 'Low Frequency',
  }));
}

async function writeHistory(db: Knex, runId: string, rows: Row[]): Promise<void> {
  await db(TABLES.segmentHistory).insert(rows.map((row) => ({ ...row, RunId: runId, RecordedAt: new Date() })));
}

/** The publication step's transaction, as the workflow and `segment publish` run it. */
async function publish(runId: string, customers: number): Promise<void> {
  await env.db.transaction(async (trx) => {
    const current = await lockPublication(trx);
    await replacePublishedSegments(trx, { runId, dataDate: null, startedAt: new Date(), customers }, current, { kind: 'operator-publish', by: 'test' });
  });
}

const published = async (): Promise<Row[]> => await env.db(TABLES.segments).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory');

test('a reader sees one run whole while publications switch back and forth, never a mix', async () => {
  // Every customer differs between the two runs, and each has customers the other has not.
  const runs = { a: rowsOf(1, 600, 2), b: rowsOf(301, 700, 9) };
  await writeHistory(env.db, 'switch-a', runs.a);
  await writeHistory(env.db, 'switch-b', runs.b);
  await publish('switch-a', runs.a.length);
  const expected = new Map([
    ['switch-a', JSON.stringify(runs.a)],
    ['switch-b', JSON.stringify(runs.b)],
  ]);

  let switching = true;
  const reader = (async () => {
    const seen = new Map<string, number>();
    while (switching) {
      // One SELECT each, as an outside tool reads: the rows and the run they say they are from.
      const rows: Array<Row & { RunId: string }> = await env.db(TABLES.segments).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory', 'RunId');
      const owners = [...new Set(rows.map((row) => row.RunId))];
      expect(owners).toHaveLength(1);
      expect(JSON.stringify(rows.map(({ RunId: _runId, ...row }) => row))).toBe(expected.get(owners[0]));
      // A point lookup of a customer both runs have agrees with one of them.
      const [one] = await env.db(TABLES.segments).where({ CustomerID: 400 }).select('PurchaseCount', 'RunId');
      expect(one.PurchaseCount).toBe(one.RunId === 'switch-a' ? 2 : 9);
      seen.set(owners[0], (seen.get(owners[0]) ?? 0) + 1);
    }
    return seen;
  })();
  for (let i = 0; i < 30; i++) await (i % 2 === 0 ? publish('switch-b', runs.b.length) : publish('switch-a', runs.a.length));
  switching = false;
  const seen = await reader;
  // The reader saw both runs: the switches happened while it read.
  expect([...seen.keys()].sort()).toEqual(['switch-a', 'switch-b']);
  expect(await published()).toEqual(runs.a);
});

test('a reset that rebuilds the published run\'s history leaves readers the published result until it is published again', async () => {
  const before = rowsOf(2_000, 50, 3);
  await writeHistory(env.db, 'reset-run', before);
  await publish('reset-run', before.length);

  // What the publish step does when it starts afresh after a reset: its history goes, then classify writes it again.
  await env.db.transaction(async (trx) => {
    await setPublishedRowsAside(trx, 'reset-run');
    await trx(TABLES.segmentHistory).where({ RunId: 'reset-run' }).delete();
  });
  const rebuilt = rowsOf(2_010, 60, 7);
  await writeHistory(env.db, 'reset-run', rebuilt.slice(0, 20));
  expect(await published()).toEqual(before);
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: 'reset-run' }]);
  // Set aside once: a second fresh start (another reset) moves nothing more.
  await env.db.transaction((trx) => setPublishedRowsAside(trx, 'reset-run'));
  expect(await published()).toEqual(before);

  await writeHistory(env.db, 'reset-run', rebuilt.slice(20));
  await publish('reset-run', rebuilt.length);
  expect(await published()).toEqual(rebuilt);
  // Nobody reads the rows set aside any more: they are gone.
  expect(await env.db(TABLES.segmentHistory).where({ RunId: retainedHistoryKey('reset-run') }).count({ n: '*' })).toEqual([{ n: 0 }]);
});

test('a publication refuses a run with customers but no history, and changes nothing', async () => {
  const table = await published();
  await expect(publish('no-such-history', 11)).rejects.toThrow(/would show no rows of its history for 11 customers/);
  expect(await published()).toEqual(table);
});

test('a point lookup by CustomerID is one primary-key lookup of the history, and a full scan one range of it', async () => {
  const rows = rowsOf(7_000, 100, 2);
  await writeHistory(env.db, 'explained-run', rows);
  await publish('explained-run', rows.length);
  // EXPLAIN of a view needs SHOW VIEW, which only the migrations' user has.
  const migrator = createDatabase(env.config.mysqlMigration);
  try {
    await explainLookupAndScan(migrator);
  } finally {
    await migrator.destroy();
  }
});

async function explainLookupAndScan(db: Knex): Promise<void> {
  const [lookup] = await db.raw('EXPLAIN SELECT * FROM ?? WHERE CustomerID = ?', [TABLES.segments, 7_050]);
  const plan = lookup as Array<{ table: string; type: string; key: string | null; rows: number | null }>;
  expect(plan.map((step) => step.type).filter((type) => type === 'ALL')).toEqual([]);
  const history = plan.find((step) => step.table === 'h')!;
  expect(history.key).toBe('PRIMARY');
  expect(['const', 'eq_ref']).toContain(history.type);
  expect(Number(history.rows)).toBe(1);

  const [scan] = await db.raw('EXPLAIN SELECT * FROM ??', [TABLES.segments]);
  const scanned = (scan as Array<{ table: string; type: string; key: string | null }>).find((step) => step.table === 'h')!;
  expect(scanned.key).toBe('PRIMARY');
  expect(scanned.type).toBe('ref');
}

test('the worker reads customer_segments but cannot write it, nor through it', async () => {
  await expect(env.db(TABLES.segments).count({ n: '*' })).resolves.toHaveLength(1);
  await expect(env.db(TABLES.segments).where({ CustomerID: 400 }).update({ PurchaseCount: 1 })).rejects.toThrow(/UPDATE command denied/);
  await expect(env.db(TABLES.segments).where({ CustomerID: 400 }).delete()).rejects.toThrow(/DELETE command denied/);
  await expect(env.db(TABLES.segments).insert({ CustomerID: 1, PurchaseCount: 1, FrequencyCategory: 'Low Frequency' })).rejects.toThrow(/INSERT command denied/);
});

test('segment migrate takes back the rows a role held on the table the view replaced (MySQL keeps a dropped table\'s grants)', async () => {
  const migrator = createDatabase(env.config.mysqlMigration);
  try {
    await migrator.raw('GRANT INSERT, UPDATE, DELETE ON ?? TO ?', [TABLES.segments, workerRole(env.config.mysql.user)]);
    await migrateToLatest(migrator, env.config.mysql.user);
  } finally {
    await migrator.destroy();
  }
  const worker = createDatabase(env.config.mysql, { max: 1 });
  try {
    await expect(worker(TABLES.segments).where({ CustomerID: 400 }).update({ PurchaseCount: 1 })).rejects.toThrow(/UPDATE command denied/);
  } finally {
    await worker.destroy();
  }
});

describe('migration 016 on an installation with a published result', () => {
  let db: Knex;
  let admin: mysql.Connection;
  const name = () => `${env.config.mysql.database}_016`;
  const at = new Date('2026-12-02T21:00:00.000Z');

  beforeAll(async () => {
    admin = await mysql.createConnection(mysqlConnectionOptions(env.config.mysqlMigration));
    await admin.query(`CREATE DATABASE ${mysql.escapeId(name())} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    db = createDatabase({ ...env.config.mysqlMigration, database: name() });
    // The schema as it was before: every migration up to 015.
    while ((await pendingMigrations(db))[0] !== '20261203_016_published_segments_view') await db.migrate.up();
  });

  afterAll(async () => {
    await db?.destroy();
    await admin?.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(name())}`);
    await admin?.end();
  });

  const table = async () => await db(TABLES.segments).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory', 'RunId', 'UpdatedAt');

  test('keeps the result whether or not the table was its run\'s history, and gives the table back on the way down', async () => {
    const rows = rowsOf(10, 40, 4);
    await writeHistory(db, 'night-1', rows);
    await db(TABLES.segments).insert(rows.map((row) => ({ ...row, RunId: 'night-1', UpdatedAt: at })));
    await db(TABLES.publication).where({ id: 1 }).update({ run_id: 'night-1', published_at: at });
    const before = await table();

    await db.migrate.up();
    expect(await table()).toEqual(before);
    expect(await db(TABLES.publication).where({ id: 1 }).first('history_key')).toEqual({ history_key: 'night-1' });
    await db.migrate.down();
    expect(await table()).toEqual(before);

    // The published run's history being rebuilt (a reset in progress): the table's rows are what stays published.
    await db(TABLES.segmentHistory).where({ RunId: 'night-1' }).delete();
    await writeHistory(db, 'night-1', rowsOf(10, 5, 8));
    await db.migrate.up();
    expect(await table()).toEqual(before);
    expect(await db(TABLES.publication).where({ id: 1 }).first('history_key')).toEqual({ history_key: retainedHistoryKey('night-1') });
    await db.migrate.down();
    expect(await table()).toEqual(before);
    // The copy set aside is no run's history: it went with the view.
    expect(await db(TABLES.segmentHistory).distinct('RunId')).toEqual([{ RunId: 'night-1' }]);
  });

  test('a reader never finds customer_segments missing while the migration goes down and up: the view and the table swap in one RENAME', async () => {
    const reader = createDatabase({ ...env.config.mysql, database: name() });
    const seen = { counts: new Map<number, number>(), errors: new Map<string, number>() };
    let migrating = true;
    const reads = (async () => {
      while (migrating) {
        try {
          const [[{ n }]] = (await reader.raw('SELECT COUNT(*) AS n FROM ??', [TABLES.segments])) as [[{ n: number }]];
          seen.counts.set(Number(n), (seen.counts.get(Number(n)) ?? 0) + 1);
        } catch (error) {
          const code = (error as { code?: string }).code ?? String(error);
          seen.errors.set(code, (seen.errors.get(code) ?? 0) + 1);
        }
      }
    })();
    try {
      for (let i = 0; i < 5; i++) {
        await db.migrate.up();
        await db.migrate.down();
      }
    } finally {
      migrating = false;
      await reads;
      await reader.destroy();
    }
    expect(Object.fromEntries(seen.errors)).toEqual({});
    // The installation's published result, 40 customers (the previous test's), whole at every read.
    expect([...seen.counts.keys()]).toEqual([40]);
  });
});

test("the gauges take the published run's customers per category from its record, and from the view when the record cannot say", async () => {
  // 30 Low and 10 High in the history; the record, once written, says 31 and 11, so the test can tell which was read.
  await writeHistory(env.db, 'gauged-run', [...rowsOf(5_000, 30, 2), ...rowsOf(5_100, 10, 9)]);
  await publish('gauged-run', 40);
  const fromView = { 'Low Frequency': 30, 'High Frequency': 10 };
  expect((await readDatabaseFigures(env.db)).publishedCustomers).toEqual(fromView); // no record yet

  await env.db(TABLES.runs).insert({
    run_id: 'gauged-run', workflow_id: 'gauged', file: 'x.xlsx', threshold: 5, chunk_size: 500, status: 'completed',
    steps: '{}', started_at: new Date(), low_frequency: 31, high_frequency: 11,
  });
  expect((await readDatabaseFigures(env.db)).publishedCustomers).toEqual({ 'Low Frequency': 31, 'High Frequency': 11 });

  // The published run runs again: its rows are set aside and the record no longer describes them.
  await env.db.transaction((trx) => setPublishedRowsAside(trx, 'gauged-run'));
  expect((await readDatabaseFigures(env.db)).publishedCustomers).toEqual(fromView);
});

test("segment publish refuses a reconciled run that a reset sent back to an earlier step, though its record still says completed", async () => {
  // Run A is published; run B reconciled, then a reset sent it back to its publish step, which
  // deleted its history; classify has written 10 of its 40 customers again. B's record still says
  // completed: it lags the steps.
  await writeHistory(env.db, 'shown-run', rowsOf(7_000, 30, 2));
  await publish('shown-run', 30);
  await writeHistory(env.db, 'rebuilt-run', rowsOf(7_100, 10, 9));
  await env.db(TABLES.runs).insert({
    run_id: 'rebuilt-run', workflow_id: 'rebuilt', file: 'x.xlsx', threshold: 5, chunk_size: 500, status: 'completed',
    steps: '{}', started_at: new Date(), customers_consumed: 40,
  });
  const claim = (step: string, scheduledAt: string) => ({ run_id: 'rebuilt-run', step_key: step, scheduled_at: new Date(scheduledAt), attempt: 1, activity_id: step, claimed_at: new Date() });
  await env.db(TABLES.stepAttempts).insert([
    claim('plan', '2026-12-03T10:00:00Z'),
    claim('classify', '2026-12-03T10:01:00Z'),
    claim('reconcile', '2026-12-03T10:02:00Z'),
    claim('publish', '2026-12-03T10:05:00Z'),
  ]);

  await expect(publishRunOnPurpose(env.db, 'rebuilt-run', { by: 'test' })).rejects.toThrow(/went back to its publish step after it reconciled/);
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: 'shown-run' }]);
  expect(await published()).toEqual(rowsOf(7_000, 30, 2));

  // Reconciled again (its history whole once more): it can be published.
  await writeHistory(env.db, 'rebuilt-run', rowsOf(7_110, 30, 9));
  await env.db(TABLES.stepAttempts).insert(claim('classify', '2026-12-03T10:06:00Z')).onConflict(['run_id', 'step_key']).merge();
  await env.db(TABLES.stepAttempts).insert(claim('reconcile', '2026-12-03T10:07:00Z')).onConflict(['run_id', 'step_key']).merge();
  const outcome = await publishRunOnPurpose(env.db, 'rebuilt-run', { by: 'test' });
  expect(outcome).toMatchObject({ runId: 'rebuilt-run', replaced: 'shown-run', rowsWritten: 40 });
  expect(await published()).toEqual(rowsOf(7_100, 40, 9));
});
