/**
 * The workflow input's schema: its defaults, its limits and each of its messages, as a person who
 * starts a run from the Temporal UI sees them. The expected figures and messages are written out
 * here rather than read from the schema: they are the contract the schema must keep.
 */
import { ApplicationFailure } from '@temporalio/common';
import { defaultAuditLimits } from '../../lib/audit/audit-checks';
import { INPUT_FIELD_NAMES, resolveInput } from '../../workflows/segmentation-input';

/** The message a run fails with, or the resolved input. */
function problemOf(input: unknown): string {
  try {
    resolveInput(input);
  } catch (error) {
    if (!(error instanceof ApplicationFailure)) throw error;
    return error.message;
  }
  throw new Error(`${JSON.stringify(input)} was accepted`);
}

const ALL_FIELDS = 'file, files, mode, window, sheet, threshold, asOf, rfmRules, chunkSize, reader, loadActivities, publishActivities, classifyActivities, classifyBatchSize, maxAttempts, operatorWait, timezone, audit';

test('every field but the workbook has a default', () => {
  expect(resolveInput({ file: 'online-retail.xlsx' })).toEqual({
    files: ['online-retail.xlsx'],
    mode: 'snapshot',
    window: 'all',
    sheet: null,
    threshold: 5,
    asOf: null,
    rfmRules: null,
    chunkSize: 2_000,
    reader: 'fast',
    loadActivities: 8,
    publishActivities: 2,
    classifyActivities: 2,
    classifyBatchSize: 5_000,
    maxAttempts: 20,
    operatorWaitMs: 24 * 3_600_000,
    timezone: 'UTC',
    audit: defaultAuditLimits(),
  });
});

test('null is the same as leaving a field out, where a field has a default', () => {
  const resolved = resolveInput({ file: 'a.xlsx' });
  const nulls = { sheet: null, threshold: null, asOf: null, rfmRules: null, chunkSize: null, loadActivities: null, maxAttempts: null, operatorWait: null, audit: null };
  expect(resolveInput({ file: 'a.xlsx', ...nulls })).toEqual(resolved);
});

test('given values are kept: paths trimmed, durations in milliseconds, audit checks merged onto the defaults', () => {
  expect(
    resolveInput({
      files: [' 2010.xlsx ', 'exports/online-retail-{date}.xlsx'],
      mode: 'append',
      window: ' 12m ',
      sheet: ' Year 2010 ',
      threshold: 0,
      asOf: '2012-02-29',
      rfmRules: ' rules/mine.json ',
      chunkSize: 50_000,
      reader: 'exceljs',
      loadActivities: 64,
      publishActivities: 1,
      classifyActivities: 64,
      classifyBatchSize: 100_000,
      maxAttempts: 1_000,
      operatorWait: '30m',
      timezone: 'America/Argentina/Buenos_Aires',
      audit: { maxShrinkPercent: 80, maxMovedPercent: 'off' },
    }),
  ).toEqual({
    files: ['2010.xlsx', 'exports/online-retail-{date}.xlsx'],
    mode: 'append',
    window: '12m',
    sheet: ' Year 2010 ',
    threshold: 0,
    asOf: '2012-02-29',
    rfmRules: 'rules/mine.json',
    chunkSize: 50_000,
    reader: 'exceljs',
    loadActivities: 64,
    publishActivities: 1,
    classifyActivities: 64,
    classifyBatchSize: 100_000,
    maxAttempts: 1_000,
    operatorWaitMs: 30 * 60_000,
    timezone: 'America/Argentina/Buenos_Aires',
    audit: { ...defaultAuditLimits(), maxShrinkPercent: 80, maxMovedPercent: null },
  });
  expect(resolveInput({ file: 'a.xlsx', operatorWait: 0 }).operatorWaitMs).toBe(0);
  expect(resolveInput({ file: 'a.xlsx', operatorWait: '1 day' }).operatorWaitMs).toBe(86_400_000);
  expect(resolveInput({ file: 'a.xlsx', audit: false }).audit).toBeNull();
});

describe.each([
  ['threshold', 0, 1_000_000],
  ['chunkSize', 1, 50_000],
  ['loadActivities', 1, 64],
  ['publishActivities', 1, 64],
  ['classifyActivities', 1, 64],
  ['classifyBatchSize', 1, 100_000],
  ['maxAttempts', 1, 1_000],
])('%s: a whole number from %d to %d', (field, min, max) => {
  test('both ends are allowed', () => {
    expect(resolveInput({ file: 'a.xlsx', [field]: min })).toMatchObject({ [field]: min });
    expect(resolveInput({ file: 'a.xlsx', [field]: max })).toMatchObject({ [field]: max });
  });

  test.each([min - 1, max + 1, min + 0.5, `${min}`, true, Number.NaN])('%p is refused, naming the field and the value', (value) => {
    expect(problemOf({ file: 'a.xlsx', [field]: value })).toBe(`input field "${field}" must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  });
});

test.each<[string, unknown, string]>([
  ['not an object', null, 'input field "input" must be a JSON object such as {"file": "online-retail.xlsx"}'],
  ['a list', [], 'input field "input" must be a JSON object such as {"file": "online-retail.xlsx"}'],
  ['a string', 'online-retail.xlsx', 'input field "input" must be a JSON object such as {"file": "online-retail.xlsx"}'],
  ['an unknown field', { file: 'a.xlsx', fiel: 'b.xlsx', other: 1 }, `input field "fiel" is not a known field (${ALL_FIELDS})`],
  ['no workbook', {}, 'input field "file" must be a workbook path relative to DATA_DIR'],
  ['a blank file', { file: '  ' }, 'input field "file" must be a workbook path relative to DATA_DIR'],
  ['a file that is no text', { file: 3 }, 'input field "file" must be a workbook path relative to DATA_DIR'],
  ['a null file', { file: null }, 'input field "file" must be a workbook path relative to DATA_DIR'],
  ['file and files', { file: 'a.xlsx', files: ['b.xlsx'] }, 'input field "files" cannot be given together with "file"'],
  ['file and a wrong files', { file: 3, files: 4 }, 'input field "files" cannot be given together with "file"'],
  ['files not a list', { files: 'a.xlsx' }, 'input field "files" must be a list of 1 to 100 workbook paths relative to DATA_DIR'],
  ['files empty', { files: [] }, 'input field "files" must be a list of 1 to 100 workbook paths relative to DATA_DIR'],
  ['files too many', { files: Array.from({ length: 101 }, (_, i) => `${i}.xlsx`) }, 'input field "files" must be a list of 1 to 100 workbook paths relative to DATA_DIR'],
  ['a blank one of files', { files: ['a.xlsx', 'b.xlsx', ' '] }, 'input field "files[2]" must be a workbook path relative to DATA_DIR'],
  ['a blank sheet', { file: 'a.xlsx', sheet: ' ' }, 'input field "sheet" must be a worksheet name'],
  ['a sheet that is no text', { file: 'a.xlsx', sheet: 1 }, 'input field "sheet" must be a worksheet name'],
  ['an as-of day that is not in the calendar', { file: 'a.xlsx', asOf: '2011-02-29' }, 'input field "asOf" must be a date such as "2011-12-10" (YYYY-MM-DD)'],
  ['an as-of month 13', { file: 'a.xlsx', asOf: '2011-13-01' }, 'input field "asOf" must be a date such as "2011-12-10" (YYYY-MM-DD)'],
  ['an as-of date the US way', { file: 'a.xlsx', asOf: '12/10/2011' }, 'input field "asOf" must be a date such as "2011-12-10" (YYYY-MM-DD)'],
  ['an as-of date with a time', { file: 'a.xlsx', asOf: '2011-12-10T00:00:00' }, 'input field "asOf" must be a date such as "2011-12-10" (YYYY-MM-DD)'],
  ['an as-of date as a number', { file: 'a.xlsx', asOf: 20111210 }, 'input field "asOf" must be a date such as "2011-12-10" (YYYY-MM-DD)'],
  ['a blank rules file', { file: 'a.xlsx', rfmRules: ' ' }, 'input field "rfmRules" must be a rules file path relative to DATA_DIR'],
  ['a rules file that is no text', { file: 'a.xlsx', rfmRules: 1 }, 'input field "rfmRules" must be a rules file path relative to DATA_DIR'],
  ['another reader', { file: 'a.xlsx', reader: 'sax' }, 'input field "reader" must be "fast" or "exceljs"'],
  ['a null reader', { file: 'a.xlsx', reader: null }, 'input field "reader" must be "fast" or "exceljs"'],
  ['a word for a duration', { file: 'a.xlsx', operatorWait: 'soon' }, 'input field "operatorWait" must be a duration such as "24h", "30m" or 0, got "soon"'],
  ['a negative duration', { file: 'a.xlsx', operatorWait: -5 }, 'input field "operatorWait" must be a duration such as "24h", "30m" or 0, got -5'],
  ['a duration that is no text or number', { file: 'a.xlsx', operatorWait: true }, 'input field "operatorWait" must be a duration such as "24h", "30m" or 0, got true'],
  ['a wait past any date a run can record', { file: 'a.xlsx', operatorWait: '300000y' }, 'input field "operatorWait" must be at most 365 days, got "300000y"'],
  ['a time zone with a space', { file: 'a.xlsx', timezone: 'Europe/Lon don' }, 'input field "timezone" must be an IANA time zone such as "Europe/London"'],
  ['a null time zone', { file: 'a.xlsx', timezone: null }, 'input field "timezone" must be an IANA time zone such as "Europe/London"'],
  ['audit as a list', { file: 'a.xlsx', audit: [] }, 'input field "audit" must be false (no audit) or an object such as {"maxShrinkPercent": 80}'],
  ['audit as true', { file: 'a.xlsx', audit: true }, 'input field "audit" must be false (no audit) or an object such as {"maxShrinkPercent": 80}'],
  [
    'an unknown audit check',
    { file: 'a.xlsx', audit: { maxShrink: 80 } },
    'input field "audit" has no check "maxShrink" (checks: minCustomers, maxShrinkPercent, maxDroppedPercent, maxHighShareShiftPoints, maxMovedPercent, maxDaysAhead)',
  ],
  ['a percentage over 100', { file: 'a.xlsx', audit: { maxShrinkPercent: 101 } }, 'input field "audit" check "maxShrinkPercent" must be a number from 0 to 100 or "off", got 101'],
  ['a fraction of customers', { file: 'a.xlsx', audit: { minCustomers: 1.5 } }, 'input field "audit" check "minCustomers" must be a whole number, 0 or more or "off", got 1.5'],
])('%s: %j', (_case, input, message) => {
  expect(problemOf(input)).toBe(message);
});

test('the failure is an InvalidInputError that is never retried and names the field in its details', () => {
  let failure: unknown;
  try {
    resolveInput({ file: 'a.xlsx', chunkSize: 0 });
  } catch (error) {
    failure = error;
  }
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({ type: 'InvalidInputError', nonRetryable: true, details: [{ field: 'chunkSize' }] });
});

test('with several problems, one is named: not an object, then an unknown field, then file/files, then the fields in order', () => {
  expect(problemOf({ file: 'a.xlsx', files: ['b.xlsx'], bogus: 1 })).toMatch(/^input field "bogus"/);
  expect(problemOf({ threshold: -1, sheet: '' })).toMatch(/^input field "file"/);
  expect(problemOf({ file: 'a.xlsx', maxAttempts: 0, sheet: '', reader: 'sax' })).toMatch(/^input field "sheet"/);
  expect(problemOf({ file: 'a.xlsx', timezone: '?', threshold: -1 })).toMatch(/^input field "threshold"/);
});

test('the fields, in the order the "not a known field" message lists them', () => {
  expect(INPUT_FIELD_NAMES.join(', ')).toBe(ALL_FIELDS);
});

test('an append run may read no file; a snapshot run may not', () => {
  expect(resolveInput({ mode: 'append' })).toMatchObject({ files: [], mode: 'append', window: 'all' });
  expect(problemOf({ mode: 'snapshot' })).toBe('input field "file" must be a workbook path relative to DATA_DIR');
  expect(problemOf({})).toBe('input field "file" must be a workbook path relative to DATA_DIR');
  expect(problemOf({ file: 'a.xlsx', mode: 'delta' })).toBe('input field "mode" must be "snapshot" or "append"');
});

test.each(['all', '1d', '90d', '12m', '36600d', '1200m'])('window %p is taken', (window) => {
  expect(resolveInput({ file: 'a.xlsx', window }).window).toBe(window);
});

test.each(['0d', '90', 'd', '90w', '36601d', '1201m', '-3d', 90, ''])('window %p is refused, naming the field', (window) => {
  expect(problemOf({ file: 'a.xlsx', window })).toBe(
    'input field "window" must be "all" or a length such as "90d" or "12m" (days or months, at most 100 years)',
  );
});
