/**
 * LOAD DATA LOCAL INFILE as an attack surface and as a text format (activities/write-classified-customers.ts):
 * - a server that asks the worker for a file (a compromised MySQL answers any query with a LOCAL
 *   INFILE request naming, say, a key file) gets nothing from the worker's connections: only the
 *   classify statement hands mysql2 a stream, and that stream is the batch's rows, whatever name the
 *   server asks for;
 * - values at the edges of the text format (a trailing backslash, NUL, Ctrl-Z, CR LF, spaces at
 *   the ends, text that looks like another row) come back exactly, one row each, as INSERT writes them;
 * - rows a LOAD DATA put in a batch's transaction are gone if its connection dies before COMMIT.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { writeClassifiedCustomers, type ClassifiedCustomer, type HistoryWriter } from '../../activities/write-classified-customers';
import { TABLES } from '../../lib/tables';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(120_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-infile-safety-'));
let env: TestEnvironment;

beforeAll(async () => {
  env = await createTestEnvironment('local_infile_safety', { dataDir });
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const recordedAt = new Date('2026-12-03T10:00:00.123Z');
const row = (runId: string, customerId: number, segment: string): ClassifiedCustomer => ({
  RunId: runId,
  CustomerID: customerId,
  PurchaseCount: 3,
  FrequencyCategory: 'Low Frequency',
  RecencyDays: null,
  Monetary: '12.34',
  RecencyScore: 1,
  FrequencyScore: 2,
  MonetaryScore: 3,
  RfmSegment: segment,
  RecordedAt: recordedAt,
});

const historyOf = async (runId: string) =>
  await env.db(TABLES.segmentHistory).where({ RunId: runId }).orderBy('CustomerID').select('CustomerID', 'RfmSegment', 'RecencyDays', 'Monetary', 'RecordedAt');

test("a server asking the worker's connection for a file on a query without our stream gets nothing, and no row goes in", async () => {
  // A file the server would like: a valid history row, so that if it were sent it would show.
  const secret = path.join(dataDir, 'secret.tsv');
  fs.writeFileSync(secret, 'stolen\t1\t1\tLow Frequency\t\\N\t1.00\t1\t1\t1\tsecret\t2026-12-03 10:00:00.000\n');
  // The server's LOCAL INFILE request names the file; mysql2 reads none unless the query gave a stream.
  await expect(
    env.db.raw(`LOAD DATA LOCAL INFILE ? INTO TABLE ?? (RunId, CustomerID, PurchaseCount, FrequencyCategory, RecencyDays, Monetary, RecencyScore, FrequencyScore, MonetaryScore, RfmSegment, RecordedAt)`, [
      secret,
      TABLES.segmentHistory,
    ]),
  ).rejects.toThrow(/must provide streamFactory/);
  expect(await historyOf('stolen')).toEqual([]);
});

test('whatever file name the server asks for, the classify statement sends the batch rows and nothing else', async () => {
  const secret = path.join(dataDir, 'other.tsv');
  fs.writeFileSync(secret, 'stolen\t2\t1\tLow Frequency\t\\N\t1.00\t1\t1\t1\tsecret\t2026-12-03 10:00:00.000\n');
  const asked: string[] = [];
  const writer: HistoryWriter = { mode: 'load-data', warn: (line) => { throw new Error(line); } };
  // mysql2 calls the query's stream factory with the name in the server's request: here the server
  // names another file (secret), as a compromised one would. The 'query' event sees the query's
  // options before mysql2 runs it.
  const askForAnotherFile = (query: { options?: { infileStreamFactory?: (name: string) => Readable } }) => {
    const given = query.options?.infileStreamFactory;
    if (given) query.options!.infileStreamFactory = (name) => (asked.push(name), given(secret));
  };
  env.db.on('query', askForAnotherFile);
  try {
    await env.db.transaction((trx) => writeClassifiedCustomers(trx, [row('asked-run', 1, 'Champions')], writer));
  } finally {
    env.db.removeListener('query', askForAnotherFile);
  }
  expect(asked).toEqual(['classified-customers.tsv']);
  expect((await historyOf('asked-run')).map((r) => r.RfmSegment)).toEqual(['Champions']);
  expect(await historyOf('stolen')).toEqual([]);
});

/** Values that a text format with backslash escapes, tab fields and newline rows could misread. */
const EDGES = [
  'ends with a backslash \\',
  '\\',
  '\\\\N',
  'N\\',
  'nul\0inside',
  'ctrl-z \x1a and \\Z',
  'crlf\r\nrow',
  '  spaces at both ends  ',
  '"quoted", \'single\'',
  'row\t2\t3\tHigh Frequency\t\\N\t1.00\n',
  '\t',
  '\n',
];

test('values at the edges of the text format come back exactly, one row each, as the INSERT path writes them', async () => {
  for (const mode of ['load-data', 'insert'] as const) {
    const writer: HistoryWriter = { mode, warn: (line) => { throw new Error(line); } };
    await env.db.transaction((trx) => writeClassifiedCustomers(trx, EDGES.map((segment, i) => row(`edges-${mode}`, 100 + i, segment)), writer));
  }
  const loaded = await historyOf('edges-load-data');
  expect(loaded.map((r) => r.RfmSegment)).toEqual(EDGES);
  expect(loaded).toEqual(await historyOf('edges-insert'));
  expect(loaded.every((r) => r.RecencyDays === null && r.Monetary === '12.34' && r.RecordedAt.getTime() === recordedAt.getTime())).toBe(true);
});

test('a batch whose connection dies after its LOAD DATA and before its COMMIT leaves no row', async () => {
  const writer: HistoryWriter = { mode: 'load-data', warn: (line) => { throw new Error(line); } };
  let loaded = -1;
  const attempt = env.db.transaction(async (trx) => {
    await writeClassifiedCustomers(trx, [row('killed-run', 1, 'Champions'), row('killed-run', 2, 'At Risk')], writer);
    const [[{ id }]] = (await trx.raw('SELECT CONNECTION_ID() AS id')) as [[{ id: number }]];
    loaded = (await trx(TABLES.segmentHistory).where({ RunId: 'killed-run' }).count({ n: '*' }))[0].n as number;
    // The worker dies here: its connection goes, the COMMIT never comes.
    await env.db.raw('KILL CONNECTION ?', [id]).catch(() => undefined);
    await trx.raw('SELECT 1');
  });
  await expect(attempt).rejects.toThrow();
  expect(Number(loaded)).toBe(2);
  expect(await historyOf('killed-run')).toEqual([]);
});

test("LOAD DATA ... REPLACE of one run's customers leaves another run's rows for the same customers as they were", async () => {
  const writer: HistoryWriter = { mode: 'load-data', warn: (line) => { throw new Error(line); } };
  await env.db.transaction((trx) => writeClassifiedCustomers(trx, [row('other-run', 1, 'Champions'), row('other-run', 2, 'At Risk')], writer));
  const before = await historyOf('other-run');
  // The same customers, twice (a re-sent chunk), and one under the other run's set-aside key: only those rows change.
  await env.db.transaction((trx) => writeClassifiedCustomers(trx, [row('this-run', 1, 'Lost'), row('this-run', 2, 'Lost')], writer));
  await env.db.transaction((trx) => writeClassifiedCustomers(trx, [row('this-run', 1, 'Hibernating'), row('other-run#published', 1, 'Lost')], writer));
  expect(await historyOf('other-run')).toEqual(before);
  expect((await historyOf('this-run')).map((r) => r.RfmSegment)).toEqual(['Hibernating', 'Lost']);
});
