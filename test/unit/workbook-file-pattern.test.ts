/**
 * File patterns (`exports/online-retail-*.xlsx`) against hostile input: a pattern cannot freeze the
 * worker (many stars), and nothing outside DATA_DIR is listed, matched, or told apart by the answer
 * (`..`, absolute paths, links out, whether or not anything exists out there).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveWorkbookPath } from '../../lib/data-dir';
import { resolveWorkbookPattern } from '../../lib/workbook-file-pattern';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'file-pattern-'));
const dataDir = path.join(root, 'data');
/** A folder beside DATA_DIR, with files a pattern must never reveal. */
const outside = path.join(root, 'outside');

beforeAll(() => {
  fs.mkdirSync(path.join(dataDir, 'exports'), { recursive: true });
  fs.mkdirSync(path.join(outside, 'secrets'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'secrets', 'id_rsa'), 'key');
  fs.writeFileSync(path.join(outside, 'passwd'), 'root:x:0:0');
  const day = (name: string, at: number) => {
    fs.writeFileSync(path.join(dataDir, 'exports', name), 'x');
    fs.utimesSync(path.join(dataDir, 'exports', name), at, at);
  };
  day('online-retail-2026-11-30.xlsx', 1_000_000);
  day('online-retail-2026-12-01.xlsx', 2_000_000);
  fs.symlinkSync(outside, path.join(dataDir, 'out'));
  fs.symlinkSync(path.join(root, 'nothing-here'), path.join(dataDir, 'dangling'));
  fs.symlinkSync(path.join(dataDir, 'exports'), path.join(dataDir, 'exports-link'));
  // Links to files out of DATA_DIR, one to something that exists and one to nothing.
  fs.symlinkSync(path.join(outside, 'passwd'), path.join(dataDir, 'exports', 'leak-existing.xlsx'));
  fs.symlinkSync(path.join(outside, 'missing'), path.join(dataDir, 'exports', 'leak-missing.xlsx'));
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function refusal(pattern: string): Promise<string> {
  const error = await Promise.resolve()
    .then(() => resolveWorkbookPattern(dataDir, pattern))
    .then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error).toBeInstanceOf(Error);
  return `${error!.name}: ${error!.message}`;
}

test('the newest match inside DATA_DIR, through a link that stays inside too', async () => {
  await expect(resolveWorkbookPattern(dataDir, 'exports/online-retail-*.xlsx')).resolves.toBe('exports/online-retail-2026-12-01.xlsx');
  await expect(resolveWorkbookPattern(dataDir, 'exports-link/online-retail-*-11-*.xlsx')).resolves.toBe('exports-link/online-retail-2026-11-30.xlsx');
  await expect(resolveWorkbookPattern(dataDir, path.join(dataDir, 'exports/online-retail-2026-11-3?.xlsx'))).resolves.toBe(
    'exports/online-retail-2026-11-30.xlsx',
  );
});

test('a pattern with many stars is matched or refused at once, without freezing the process', () => {
  // In a child process: on a backtracking matcher the call never returns, and only a kill ends it.
  const script = `
    const { resolveWorkbookPattern } = require(${JSON.stringify(path.resolve(__dirname, '../../lib/workbook-file-pattern'))});
    (async () => {
      for (const pattern of process.argv.slice(1)) {
        const started = process.hrtime.bigint();
        const outcome = await Promise.resolve().then(() => resolveWorkbookPattern(${JSON.stringify(dataDir)}, pattern)).then((file) => file, (error) => error.name + ': ' + error.message);
        console.log(JSON.stringify({ pattern, outcome, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      }
    })();`;
  const patterns = [`exports/${'*'.repeat(40)}Z`, `exports/${'*'.repeat(40)}.xlsx`, `exports/${'*a'.repeat(20)}Z`, `exports/${'?*'.repeat(20)}Z`];
  const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script, ...patterns], { encoding: 'utf8', timeout: 20_000 });
  expect(child.signal).toBeNull();
  const results = child.stdout.trim().split('\n').map((line) => JSON.parse(line) as { pattern: string; outcome: string; ms: number });
  console.log(results.map(({ pattern, ms }) => `${pattern.length} chars: ${ms.toFixed(2)} ms`).join('\n'));
  expect(results.map(({ outcome }) => outcome)).toEqual([
    expect.stringContaining('no workbook in DATA_DIR matches this pattern'),
    'exports/online-retail-2026-12-01.xlsx',
    expect.stringMatching(/may use \* at most \d+ times/),
    expect.stringMatching(/may use \* at most \d+ times/),
  ]);
  // Backtracking that grows with the stars would take minutes; a second is room for a busy CI machine (145 ms seen there).
  for (const { ms } of results) expect(ms).toBeLessThan(1_000);
});

test('every way out of DATA_DIR gets one message, naming nothing outside, whatever exists there', async () => {
  const ways = [
    '../../../../etc/pass*',
    '../../../../nowhere/pass*',
    '../outside/pass*',
    '../x/*',
    '../outside/secrets/id_*',
    path.join(outside, 'pass*'),
    '/etc/pass*',
    '/no-such-folder/*',
    'out/pass*',
    'out/secrets/id_*',
    'out/no-such-folder/*',
    'dangling/*',
    'dangling/deeper/*',
  ];
  const messages = await Promise.all(ways.map(refusal));
  expect(new Set(messages).size).toBe(1);
  expect(messages[0]).toMatch(/^InvalidInputError: input field "file" must name a workbook inside DATA_DIR/);
  for (const leak of ['etc', 'pass', 'outside', 'secret', 'id_', root]) expect(messages[0]).not.toContain(leak);
  // Plain paths (no wildcard) answer the same.
  for (const file of ['../../../../etc/passwd', '../outside/nothing.xlsx', 'out/passwd', 'out/missing.xlsx', 'dangling', '/etc/passwd']) {
    expect(() => resolveWorkbookPath(dataDir, file)).toThrow(messages[0].replace(/^InvalidInputError: /, ''));
  }
});

test('a link out of DATA_DIR is no candidate, whether its target exists or not', async () => {
  const existing = await refusal('exports/leak-existing*');
  expect(existing).toBe('InvalidWorkbookError: file "exports/leak-existing*": no workbook in DATA_DIR matches this pattern');
  expect(await refusal('exports/leak-missing*')).toBe(existing.replace('existing', 'missing'));
});

test('a missing folder inside DATA_DIR is named relative to DATA_DIR', async () => {
  expect(await refusal('exports/../archive/*.xlsx')).toBe('InvalidWorkbookError: file "archive/*.xlsx": no folder "archive" in DATA_DIR');
  expect(await refusal('exports/online-retail-2026-12-01.xlsx/*')).toContain('no folder "exports/online-retail-2026-12-01.xlsx" in DATA_DIR');
});
