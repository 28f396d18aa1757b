/**
 * The RFM segment map (lib/segmentation/rfm-rules.ts): the repository's rules file is the issue's
 * ten-name table, and a file that leaves a score pair without a segment, gives one two, has a bad
 * range or another version is refused, naming the pair or the field. A run naming such a file in
 * DATA_DIR fails at once: test/integration/rfm-segments.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../../lib/errors';
import { parseRfmRules, readRfmRules, segmentOf, type RfmRules } from '../../lib/segmentation/rfm-rules';
import { plainSegment, PLAIN_SEGMENT_NAMES } from '../support/plain-segmentation';
import { makeTempDir } from './support/write-workbook';

const DEFAULT_SEGMENTS = [
  { segment: 'Hibernating', recency: '1-2', frequency: '1-2' },
  { segment: 'At Risk', recency: '1-2', frequency: '3-4' },
  { segment: "Can't Lose Them", recency: '1-2', frequency: '5' },
  { segment: 'About To Sleep', recency: '3', frequency: '1-2' },
  { segment: 'Need Attention', recency: '3', frequency: '3' },
  { segment: 'Loyal Customers', recency: '3-4', frequency: '4-5' },
  { segment: 'Promising', recency: '4', frequency: '1' },
  { segment: 'New Customers', recency: '5', frequency: '1' },
  { segment: 'Potential Loyalists', recency: '4-5', frequency: '2-3' },
  { segment: 'Champions', recency: '5', frequency: '4-5' },
];

const rulesText = (segments: unknown, version: unknown = 1) => JSON.stringify({ version, segments });

/** The message a rules text is refused with (it must be refused as bad input on rfmRules). */
function refusal(text: string): string {
  try {
    parseRfmRules(text, 'custom.json');
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).toFailure()).toMatchObject({ type: 'InvalidInputError', nonRetryable: true, details: [{ field: 'rfmRules' }] });
    return (error as Error).message;
  }
  throw new Error('the rules were accepted');
}

const every = (rules: RfmRules) => [1, 2, 3, 4, 5].flatMap((r) => [1, 2, 3, 4, 5].map((f) => segmentOf(rules, r, f)));

test("the repository's rules file is the issue's ten-name table, cell by cell", () => {
  const rules = readRfmRules('', null);
  expect(rules).toMatchObject({ source: 'rules/rfm-segments.json', version: 1, segments: [...PLAIN_SEGMENT_NAMES] });
  expect(every(rules)).toEqual([1, 2, 3, 4, 5].flatMap((r) => [1, 2, 3, 4, 5].map((f) => plainSegment(r, f))));
  expect(parseRfmRules(rulesText(DEFAULT_SEGMENTS), 'same.json').cells).toEqual(rules.cells);
});

test('another map with other names is read as it is: names in file order, each pair its cell', () => {
  const rules = parseRfmRules(
    rulesText([
      { segment: 'Hot', recency: '4-5', frequency: '1-5' },
      { segment: 'Dormant', recency: '1-2', frequency: '1-5' },
      { segment: 'Warm', recency: '3', frequency: '1-5' },
    ]),
    'three.json',
  );
  expect(rules).toMatchObject({ source: 'three.json', segments: ['Hot', 'Dormant', 'Warm'] });
  expect([segmentOf(rules, 1, 5), segmentOf(rules, 3, 1), segmentOf(rules, 5, 5)]).toEqual(['Dormant', 'Warm', 'Hot']);
  // Two entries may give one name (an L-shaped segment); it is listed once.
  const lShaped = parseRfmRules(rulesText([{ segment: 'Low', recency: '1-4', frequency: '1-4' }, { segment: 'High', recency: '5', frequency: '1-5' }, { segment: 'High', recency: '1-4', frequency: '5' }]), 'l.json');
  expect(lShaped.segments).toEqual(['Low', 'High']);
  expect([segmentOf(lShaped, 4, 5), segmentOf(lShaped, 5, 1), segmentOf(lShaped, 4, 4)]).toEqual(['High', 'High', 'Low']);
});

test('a gap is refused, naming the pair no segment covers', () => {
  const withoutNeedAttention = DEFAULT_SEGMENTS.filter((entry) => entry.segment !== 'Need Attention');
  expect(refusal(rulesText(withoutNeedAttention))).toBe('input field "rfmRules" file "custom.json" maps the score pair (recency 3, frequency 3) to no segment');
  const championsShort = DEFAULT_SEGMENTS.map((entry) => (entry.segment === 'Champions' ? { ...entry, frequency: '4' } : entry));
  expect(refusal(rulesText(championsShort))).toMatch(/maps the score pair \(recency 5, frequency 5\) to no segment$/);
});

test('an overlap is refused, naming the pair and both segments', () => {
  const overlapping = DEFAULT_SEGMENTS.map((entry) => (entry.segment === 'Promising' ? { ...entry, frequency: '1-2' } : entry));
  expect(refusal(rulesText(overlapping))).toBe(
    'input field "rfmRules" file "custom.json" maps the score pair (recency 4, frequency 2) twice: to "Promising" and to "Potential Loyalists"',
  );
  // The same name twice over one pair is an overlap too.
  expect(refusal(rulesText([...DEFAULT_SEGMENTS, { segment: 'Champions', recency: '5', frequency: '5' }]))).toMatch(
    /maps the score pair \(recency 5, frequency 5\) twice: to "Champions" and to "Champions"$/,
  );
});

test.each([
  ['a range from high to low', '2-1', /at segments\.0\.recency must be a range from low to high/],
  ['a score of 0', '0-2', /at segments\.0\.recency must be a score such as "3" or a range such as "1-2"/],
  ['a score of 6', '6', /at segments\.0\.recency must be a score/],
  ['an open range', '1-', /at segments\.0\.recency must be a score/],
  ['a number, not text', 3, /at segments\.0\.recency /],
])('a bad range is refused: %s', (_case, recency, message) => {
  expect(refusal(rulesText([{ ...DEFAULT_SEGMENTS[0], recency }, ...DEFAULT_SEGMENTS.slice(1)]))).toMatch(message);
});

test.each([
  ['a later version', 2],
  ['version 0', 0],
  ['the version as text', '1'],
  ['no version', undefined],
])('another version is refused: %s', (_case, version) => {
  expect(refusal(JSON.stringify({ version, segments: DEFAULT_SEGMENTS }))).toMatch(/^input field "rfmRules" file "custom\.json" at version must be 1 \(the rules-file format this version reads\)$/);
});

test('what is not a map at all is refused, naming the file', () => {
  expect(refusal('{"version": 1, "segments": [')).toBe('input field "rfmRules" file "custom.json" is not JSON');
  expect(refusal(rulesText([]))).toMatch(/at segments must list at least one segment$/);
  expect(refusal(rulesText([{ ...DEFAULT_SEGMENTS[0], segment: ' ' }, ...DEFAULT_SEGMENTS.slice(1)]))).toMatch(/at segments\.0\.segment must name the segment$/);
  expect(refusal(rulesText([{ ...DEFAULT_SEGMENTS[0], segment: 'x'.repeat(65) }, ...DEFAULT_SEGMENTS.slice(1)]))).toMatch(/at segments\.0\.segment must be at most 64 characters$/);
});

describe('a rules file a run names in DATA_DIR', () => {
  const { dir, cleanup } = makeTempDir('rfm-rules');
  beforeAll(() => {
    fs.mkdirSync(path.join(dir, 'rules'));
    fs.writeFileSync(path.join(dir, 'rules', 'mine.json'), rulesText(DEFAULT_SEGMENTS));
  });
  afterAll(cleanup);

  test('is read from DATA_DIR and named by its path there', () => {
    expect(readRfmRules(dir, 'rules/mine.json')).toMatchObject({ source: 'rules/mine.json', segments: [...PLAIN_SEGMENT_NAMES] });
  });

  test('outside DATA_DIR, missing, or a folder: refused on rfmRules', () => {
    const problem = (relative: string) => {
      try {
        readRfmRules(dir, relative);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(problem('../elsewhere.json')).toMatch(/^input field "rfmRules" must name a rules file inside DATA_DIR/);
    expect(problem('missing.json')).toMatch(/^input field "rfmRules" names "missing\.json", which is not a file in DATA_DIR$/);
    expect(problem('rules')).toMatch(/^input field "rfmRules" file "rules" is not a regular file$/);
    fs.writeFileSync(path.join(dir, 'big.json'), ' '.repeat(64 * 1024 + 1));
    expect(problem('big.json')).toBe('input field "rfmRules" file "big.json" is 65537 bytes; a rules file is at most 65536');
  });

  test('a byte-order mark (as Windows editors save) is no part of the JSON', () => {
    fs.writeFileSync(path.join(dir, 'bom.json'), `\uFEFF${rulesText(DEFAULT_SEGMENTS)}`);
    expect(readRfmRules(dir, 'bom.json').segments).toEqual([...PLAIN_SEGMENT_NAMES]);
  });
});

test('a key this version does not read, a name with control characters, or two names MySQL takes for one: refused', () => {
  const withMonetary = [{ ...DEFAULT_SEGMENTS[0], monetary: '5' }, ...DEFAULT_SEGMENTS.slice(1)];
  expect(refusal(rulesText(withMonetary))).toMatch(/^input field "rfmRules" file "custom\.json" at segments\.0 /);
  const escape = [{ ...DEFAULT_SEGMENTS[0], segment: 'Hibernating\nFAKE LINE' }, ...DEFAULT_SEGMENTS.slice(1)];
  expect(refusal(rulesText(escape))).toMatch(/at segments\.0\.segment must be printable text \(no control characters\)$/);
  const twice = [{ ...DEFAULT_SEGMENTS[0], segment: 'hibernating' }, ...DEFAULT_SEGMENTS.slice(1), { ...DEFAULT_SEGMENTS[0], recency: '1', frequency: '1', segment: 'Hibernating' }];
  expect(refusal(rulesText(twice))).toMatch(/names two segments that differ only in case or accents: "hibernating" and "Hibernating"$/);
  expect(refusal(JSON.stringify({ version: 1, segments: DEFAULT_SEGMENTS, extra: true }))).toMatch(/^input field "rfmRules" file "custom\.json" /);
});
