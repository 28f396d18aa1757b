/**
 * The input flags of `segment run` and `segment schedule create|update`, made from the input
 * schema: the same flags, help lines and parsing as before they were, and the input they give.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { PROJECT_ROOT, type AppConfig } from '../../lib/config';
import { addInputFlags, inputOfFlags, requireWorkbookFlag, type InputFlagCommand, type InputFlagValues } from '../../cli/input-flags';
import { resolveInput } from '../../workflows/segmentation-input';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'input-flags-'));
const config = { dataDir } as AppConfig;
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const AUDIT_HELP =
  'set one check before publication, repeatable; VALUE may be "off". Checks: minCustomers (default 1), maxShrinkPercent (default 50), ' +
  'maxDroppedPercent (default 50), maxHighShareShiftPoints (default 15), maxMovedPercent (default 25), maxDaysAhead (default 1)';
const SHEET_HELP = 'worksheet (default: every sheet with a transactions header)';
const MODE_HELP = 'snapshot (default): the files are the whole history; append: new transactions merged into the invoice ledger';
const WINDOW_HELP = 'all (default), or e.g. 90d or 12m: only invoices of that many days or months up to the data date count';
const RFM_RULES_HELP = 'RFM segment map inside DATA_DIR (default: rules/rfm-segments.json)';

/** Each input flag and its help line, as `segment run` listed them before the schema made them (and --mode, --window, --as-of, --rfm-rules since). */
const RUN_FLAGS = {
  '--audit <NAME=VALUE>': AUDIT_HELP,
  '--no-audit': 'publish without any check (for this run, or this schedule)',
  '--file <path...>': 'workbook (absolute, or relative to the current folder), inside DATA_DIR; several are read as one export',
  '--mode <mode>': MODE_HELP,
  '--window <length>': WINDOW_HELP,
  '--sheet <name>': SHEET_HELP,
  '--threshold <n>': 'Low Frequency is at most this many invoices',
  '--as-of <date>': 'the day RecencyDays counts to, YYYY-MM-DD (default: the day after the data date)',
  '--rfm-rules <path>': RFM_RULES_HELP,
  '--chunk-size <n>': 'messages per Kafka publish request',
  '--reader <reader>': 'workbook parser: fast (default) or exceljs (slower, a second opinion)',
  '--publish-activities <n>': 'publish activities sharing the customers',
  '--classify-activities <n>': 'consume-and-classify activities sharing the partitions',
  '--classify-batch-size <n>': 'messages per MySQL transaction when classifying',
  '--max-attempts <n>': 'attempts per step before the run waits for an operator',
  '--operator-wait <duration>': 'how long a failed run waits for retry or abort, e.g. 24h; 0 fails at once',
};

/** The same for `schedule create` (and `update`, whose --file says "to read from now on"). */
const SCHEDULE_FLAGS = {
  '--audit <NAME=VALUE>': AUDIT_HELP,
  '--no-audit': 'publish without any check (for this run, or this schedule)',
  '--file <path...>':
    'workbook inside DATA_DIR to read each night; may hold {date} (the day of the run, YYYY-MM-DD in --timezone), {date-1}, and * or ? in the file name (the newest match)',
  '--mode <mode>': MODE_HELP,
  '--window <length>': WINDOW_HELP,
  '--sheet <name>': SHEET_HELP,
  '--threshold <n>': 'Low Frequency is at most this many invoices',
  // No --as-of: a schedule's night counts to the day after its own data date.
  '--rfm-rules <path>': RFM_RULES_HELP,
  '--operator-wait <duration>': 'how long a run whose step failed waits for `segment retry` or `abort` (default 12h)',
  '--timezone <iana>': 'time zone of --cron and of {date} (default UTC), e.g. Europe/London',
};

function command(use: InputFlagCommand, purpose = 'to read each night'): Command {
  return addInputFlags(new Command('test'), use, purpose)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
}

const flagsOf = (tested: Command) => Object.fromEntries(tested.options.map((option) => [option.flags, option.description]));

/** What the command's options hold after parsing `args`. */
function parse(use: InputFlagCommand, args: string[]): InputFlagValues {
  return command(use).parse(args, { from: 'user' }).opts();
}

test('segment run has the input flags and help lines it had, in the same order', () => {
  expect(flagsOf(command('run'))).toEqual(RUN_FLAGS);
  expect(Object.keys(flagsOf(command('run')))).toEqual(Object.keys(RUN_FLAGS));
});

test('segment schedule create and update have the input flags and help lines they had', () => {
  expect(flagsOf(command('schedule'))).toEqual(SCHEDULE_FLAGS);
  expect(flagsOf(command('schedule', 'to read from now on'))['--file <path...>']).toMatch(/^workbook inside DATA_DIR to read from now on; /);
});

test.each([
  ['run', ['--audit', '--no-audit', '--file', '--mode', '--window', '--sheet', '--threshold', '--as-of', '--rfm-rules', '--chunk-size', '--reader', '--publish-activities', '--classify-activities', '--classify-batch-size', '--max-attempts', '--operator-wait', '--workflow-id', '--wait', '--json', '--dry-run', '-h']],
  ['schedule create', ['--id', '--json', '--audit', '--no-audit', '--file', '--mode', '--window', '--sheet', '--threshold', '--rfm-rules', '--operator-wait', '--timezone', '--cron', '--run-timeout', '--note', '-h']],
  ['schedule update', ['--id', '--json', '--audit', '--no-audit', '--file', '--mode', '--window', '--sheet', '--threshold', '--rfm-rules', '--operator-wait', '--timezone', '--cron', '--run-timeout', '-h']],
])('`segment %s --help` lists the flags it always had, and --mode, --window and the RFM ones', (subcommand, flags) => {
  const help = spawnSync('node', [path.join(PROJECT_ROOT, 'bin', 'segment.js'), ...subcommand.split(' '), '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  const listed = [...help.stdout.matchAll(/^ {2}(-[-\w]+)/gm)].map((match) => match[1]);
  expect(listed).toEqual(flags);
});

test('the flags give the input the workflow reads: one --file is `file`, durations of digits are milliseconds', () => {
  const options = parse('run', [
    ...['--file', path.join(dataDir, 'online-retail.xlsx'), '--sheet', 'Year 2010', '--threshold', '7', '--chunk-size', '500', '--reader', 'exceljs'],
    ...['--publish-activities', '3', '--classify-activities', '4', '--classify-batch-size', '600', '--max-attempts', '5', '--operator-wait', '0'],
    ...['--audit', 'maxShrinkPercent=80', '--audit', 'maxMovedPercent=off'],
  ]);
  const input = inputOfFlags(options, config);
  expect(input).toEqual({
    file: 'online-retail.xlsx',
    sheet: 'Year 2010',
    threshold: 7,
    chunkSize: 500,
    reader: 'exceljs',
    publishActivities: 3,
    classifyActivities: 4,
    classifyBatchSize: 600,
    maxAttempts: 5,
    operatorWait: 0,
    audit: { maxShrinkPercent: 80, maxMovedPercent: 'off' },
  });
  expect(resolveInput(input)).toMatchObject({ files: ['online-retail.xlsx'], threshold: 7, operatorWaitMs: 0, audit: { maxShrinkPercent: 80, maxMovedPercent: null } });
});

test('several --file are `files`; flags not given are left out; --no-audit is audit false', () => {
  const options = parse('schedule', ['--file', path.join(dataDir, 'a.xlsx'), path.join(dataDir, 'exports', '{date}.xlsx'), '--operator-wait', '12h', '--no-audit']);
  expect(inputOfFlags(options, config)).toEqual({ files: ['a.xlsx', path.join('exports', '{date}.xlsx')], operatorWait: '12h', audit: false });
  expect(inputOfFlags(parse('schedule', ['--timezone', 'Europe/London']), config)).toEqual({ timezone: 'Europe/London' });
});

test('--audit pairs are merged onto what a schedule had', () => {
  const options = parse('schedule', ['--audit', 'maxShrinkPercent=70']);
  expect(inputOfFlags(options, config, { maxMovedPercent: 'off', maxShrinkPercent: 10 })).toEqual({ audit: { maxMovedPercent: 'off', maxShrinkPercent: 70 } });
});

test.each([
  [['--file', 'a.xlsx', '--threshold', '-1'], "option '--threshold <n>' argument '-1' is invalid. must be a whole number"],
  [['--file', 'a.xlsx', '--chunk-size', '1.5'], "option '--chunk-size <n>' argument '1.5' is invalid. must be a whole number"],
  [['--file', 'a.xlsx', '--threshold', ''], "option '--threshold <n>' argument '' is invalid. must be a whole number"],
  [['--file', 'a.xlsx', '--threshold', '0x10'], "option '--threshold <n>' argument '0x10' is invalid. must be a whole number"],
  [['--file', 'a.xlsx', '--threshold', '1e3'], "option '--threshold <n>' argument '1e3' is invalid. must be a whole number"],
  [['--file', 'a.xlsx', '--reader', 'sax'], "error: option '--reader <reader>' argument 'sax' is invalid. Allowed choices are fast, exceljs."],
  [['--file', 'a.xlsx', '--audit', 'maxShrink=80'], 'there is no check "maxShrink"'],
])('segment run %j is refused before anything starts', (args, message) => {
  expect(() => parse('run', args)).toThrow(message);
});

test('segment run needs --file, except in append mode', () => {
  expect(() => requireWorkbookFlag(parse('run', ['--threshold', '5']))).toThrow("required option '--file <path...>' not specified (only --mode append may leave it out)");
  expect(() => requireWorkbookFlag(parse('run', ['--mode', 'append', '--window', '90d']))).not.toThrow();
  expect(inputOfFlags(parse('run', ['--mode', 'append', '--window', '90d']), config)).toEqual({ mode: 'append', window: '90d' });
});

test('a workbook outside DATA_DIR is refused, naming the flag\'s field', () => {
  expect(() => inputOfFlags(parse('run', ['--file', path.join(os.tmpdir(), 'elsewhere.xlsx')]), config)).toThrow(/is not inside DATA_DIR/);
});

test('--rfm-rules is made relative to DATA_DIR like --file, and refused outside it on rfmRules; --as-of is passed as given', () => {
  const options = parse('run', ['--file', path.join(dataDir, 'a.xlsx'), '--rfm-rules', path.join(dataDir, 'rules', 'mine.json'), '--as-of', '2011-12-10']);
  expect(inputOfFlags(options, config)).toEqual({ file: 'a.xlsx', rfmRules: path.join('rules', 'mine.json'), asOf: '2011-12-10' });
  expect(inputOfFlags(parse('schedule', ['--rfm-rules', path.join(dataDir, 'mine.json')]), config)).toEqual({ rfmRules: 'mine.json' });
  expect(() => inputOfFlags(parse('run', ['--file', path.join(dataDir, 'a.xlsx'), '--rfm-rules', path.join(os.tmpdir(), 'elsewhere.json')]), config)).toThrow(
    /^input field "rfmRules" .* is not inside DATA_DIR/,
  );
});
