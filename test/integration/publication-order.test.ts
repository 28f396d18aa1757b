/**
 * Publication follows the data's own date, not the start time: older nights backfilled after
 * tonight's run end superseded and tonight's result stays; a corrected export of tonight, started
 * later, wins. `segment publish` switches the published run on purpose (a rollback), atomically,
 * and every run's own result stays in the history.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { segment, segmentExit } from '../support/segment-cli';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'publication-order-'));
let env: TestEnvironment;
/** The same shop's exports night after night: each is the one before plus a day or so of invoices. */
const nights: Record<'older' | 'old' | 'tonight' | 'corrected', GeneratedWorkbook> = {} as never;
const runKeys: Record<string, string> = {};

beforeAll(async () => {
  env = await createTestEnvironment('publication_order', { dataDir });
  await env.startWorker();
  const night = (name: keyof typeof nights, options: { rows: number; lastRowsOnly?: number }) =>
    generateWorkbook({ outPath: path.join(dataDir, `${name}.xlsx`), seed: 31, ...options }).then((generated) => (nights[name] = generated));
  await night('older', { rows: 9_000 });
  await night('old', { rows: 10_500 });
  await night('tonight', { rows: 12_000 });
  // Tonight's export again, corrected upstream: a few bad lines at its start taken out; same newest invoice.
  await night('corrected', { rows: 12_000, lastRowsOnly: 11_950 });
  expect(nights.older.newestInvoiceDate! < nights.old.newestInvoiceDate!).toBe(true);
  expect(nights.old.newestInvoiceDate! < nights.tonight.newestInvoiceDate!).toBe(true);
  expect(nights.corrected.newestInvoiceDate).toBe(nights.tonight.newestInvoiceDate);
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function run(name: string) {
  const { code, lastJson } = await segmentExit(['run', '--file', path.join(dataDir, `${name}.xlsx`), '--wait', '--json'], env.env);
  expect(code).toBe(0);
  runKeys[name] = lastJson.runId;
  return lastJson;
}

async function history(runId: string) {
  return await env.db(TABLES.segmentHistory).where({ RunId: runId }).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory');
}

async function published() {
  return await env.db(TABLES.segments).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory');
}

async function expectPublished(name: string) {
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: runKeys[name] }]);
  expect(await published()).toEqual(await history(runKeys[name]));
  expect(await env.db(TABLES.publication).first('run_id')).toEqual({ run_id: runKeys[name] });
}

test('older nights backfilled after tonight are superseded; a corrected export of tonight, started later, wins', async () => {
  expect(await run('tonight')).toMatchObject({ status: 'completed', published: true, dataDate: nights.tonight.newestInvoiceDate });
  const tonightsTable = await env.db(TABLES.segments).orderBy('CustomerID').select('*');

  for (const name of ['older', 'old']) {
    const backfilled = await run(name);
    expect(backfilled).toMatchObject({ status: 'superseded', published: false, customers: nights[name as 'old'].customers, dataDate: nights[name as 'old'].newestInvoiceDate });
    expect(backfilled.audit).toMatchObject({ superseded: true, comparedWith: runKeys.tonight });
    // Its own result is kept in the history; the table is tonight's, to the byte.
    expect((await history(backfilled.runId)).length).toBe(nights[name as 'old'].customers);
    expect(await env.db(TABLES.segments).orderBy('CustomerID').select('*')).toEqual(tonightsTable);
  }

  expect(await run('corrected')).toMatchObject({ status: 'completed', published: true, customers: nights.corrected.customers });
  await expectPublished('corrected');

  const { stdout } = await segment(['runs', '--json'], env.env);
  const listed: Array<{ runId: string; status: string; published: boolean; dataDate: string }> = JSON.parse(stdout.trim().split('\n').at(-1)!);
  const byKey = Object.fromEntries(listed.map((entry) => [entry.runId, entry]));
  expect(byKey[runKeys.corrected]).toMatchObject({ status: 'completed', published: true, dataDate: nights.corrected.newestInvoiceDate });
  expect(byKey[runKeys.older]).toMatchObject({ status: 'superseded', published: false, dataDate: nights.older.newestInvoiceDate });
  expect(listed.filter((entry) => entry.published)).toHaveLength(1);
});

test('segment publish makes an older completed run the published one, then the newest again; each switch is whole and recorded', async () => {
  const before = {
    tonight: await history(runKeys.tonight),
    corrected: await history(runKeys.corrected),
  };
  const rollback = await segment(['publish', runKeys.tonight, '--by', 'ana', '--reason', 'correction approved by mistake', '--json'], env.env);
  expect(rollback.lastJson).toMatchObject({ runId: runKeys.tonight, replaced: runKeys.corrected, rowsWritten: nights.tonight.customers, withoutRfm: false });
  await expectPublished('tonight');

  // A superseded run reconciled too: it can be published on purpose (never by a run's own ordering).
  const older = await segment(['publish', runKeys.older, '--json'], env.env);
  expect(older.lastJson).toMatchObject({ runId: runKeys.older, replaced: runKeys.tonight });
  await expectPublished('older');

  const workflowId = (await env.db(TABLES.runs).where({ run_id: runKeys.corrected }).first('workflow_id')).workflow_id;
  const back = await segment(['publish', workflowId, '--by', 'ana', '--reason', 'back to the newest'], env.env);
  expect(back.stdout).toContain(`published run ${runKeys.corrected}`);
  await expectPublished('corrected');

  const events = await env.db(TABLES.publicationEvents).where({ kind: 'operator-publish' }).orderBy('id').select('run_id', 'previous_run_id', 'decided_by', 'reason');
  expect(events).toEqual([
    { run_id: runKeys.tonight, previous_run_id: runKeys.corrected, decided_by: 'ana', reason: 'correction approved by mistake' },
    { run_id: runKeys.older, previous_run_id: runKeys.tonight, decided_by: expect.any(String), reason: null },
    { run_id: runKeys.corrected, previous_run_id: runKeys.older, decided_by: 'ana', reason: 'back to the newest' },
  ]);
  // The history of every run is what it was.
  expect(await history(runKeys.tonight)).toEqual(before.tonight);
  expect(await history(runKeys.corrected)).toEqual(before.corrected);

  const refused = await segmentExit(['publish', 'no-such-run'], env.env);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('no run "no-such-run" is recorded');
});

test('a publication is atomic: readers see the old run or the new one, never a mix', async () => {
  // Switch back and forth while a reader keeps reading in its own consistent snapshots.
  const sizes = new Set([nights.tonight.customers, nights.corrected.customers]);
  const owners = new Set([runKeys.tonight, runKeys.corrected]);
  let switching = true;
  const reader = (async () => {
    const seen: Array<{ runs: string[]; rows: number }> = [];
    while (switching) {
      const observed = await env.db.transaction(async (trx) => {
        const runs = (await trx(TABLES.segments).distinct('RunId')).map((row: { RunId: string }) => row.RunId);
        const [{ rows }] = await trx(TABLES.segments).count({ rows: '*' });
        return { runs, rows: Number(rows) };
      }, { isolationLevel: 'repeatable read' });
      seen.push(observed);
    }
    return seen;
  })();
  for (let i = 0; i < 4; i++) await segment(['publish', i % 2 === 0 ? runKeys.tonight : runKeys.corrected], env.env);
  switching = false;
  const seen = await reader;
  expect(seen.length).toBeGreaterThan(0);
  for (const observed of seen) {
    expect(observed.runs).toHaveLength(1);
    expect(owners.has(observed.runs[0])).toBe(true);
    expect(sizes.has(observed.rows)).toBe(true);
  }
});
