/**
 * Every repository path a comment of the code or a Markdown doc cites exists, and every link to a
 * heading finds it: a file that moves takes its citations with it. What counts as a cited path is
 * defined in test/support/cited-paths.ts; the first tests hold that definition to its examples.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import {
  citationsInCode,
  citationsInMarkdown,
  citedPathExists,
  headingAnchor,
  headingAnchors,
  markdownDocs,
  TOP_LEVEL_FOLDERS,
} from '../support/cited-paths';
import { staleCitations } from '../support/cited-paths';

describe('what counts as a cited path', () => {
  it('takes paths from comments, bare or backticked, with line references dropped', () => {
    const source = [
      '/** Names the tables once (`lib/tables.ts`); see lib/config.ts:12 and workflows/index.ts:3-9. */',
      'const x = "lib/not-in-a-comment.ts"; // the steps live in workflows/',
      "// Its README's section, and CHANGELOG.md.",
    ].join('\n');
    expect(citationsInCode('a.ts', source).map(({ cited, line }) => [line, cited])).toEqual([
      [1, 'lib/tables.ts'],
      [1, 'lib/config.ts'],
      [1, 'workflows/index.ts'],
      [2, 'workflows/'],
      [3, 'CHANGELOG.md'],
    ]);
  });

  it('leaves URLs, npm packages, paths outside the repository and made folders alone', () => {
    const source = [
      '// https://github.com/temporalio/samples-typescript/tree/main/test/x and @temporalio/workflow/lib/index',
      '// exceljs/lib/stream, ../shared/data/online-retail.xlsx, data/online-retail-{date}.xlsx,',
      '// .stack/logs/kafka.log, build/workflow-bundle/, dist/cli/main.js, node_modules/tsx/cjs',
    ].join('\n');
    expect(citationsInCode('a.ts', source)).toEqual([]);
  });

  it('takes code spans that are whole repository paths and relative links from docs, not fenced examples', () => {
    const markdown = [
      '# Title',
      'See `lib/tables.ts`, `npx segment run --file data/x.xlsx`, `.stack/logs/` and [the audit](docs/guarantees.md#the-audit).',
      '![a picture](ui.png) [a site](https://example.com/lib/x.ts) [here](#title) <https://example.com>',
      '```',
      '$ cat lib/not-checked.ts',
      '```',
    ].join('\n');
    expect(citationsInMarkdown('docs/x.md', markdown).map(({ cited, target, anchor }) => [cited, target, anchor])).toEqual([
      ['lib/tables.ts', 'lib/tables.ts', undefined],
      ['docs/guarantees.md#the-audit', 'docs/docs/guarantees.md', 'the-audit'],
      ['ui.png', 'docs/ui.png', undefined],
      ['#title', 'docs/x.md', 'title'],
    ]);
  });

  it('makes anchors as GitHub does', () => {
    expect(headingAnchor('The `segment` command')).toBe('the-segment-command');
    expect(headingAnchor('Kafka security: SASL and TLS')).toBe('kafka-security-sasl-and-tls');
    expect(headingAnchor("A run's key survives resets")).toBe('a-runs-key-survives-resets');
    expect(headingAnchor('Set-up: two commands on a fresh machine')).toBe('set-up-two-commands-on-a-fresh-machine');
    expect([...headingAnchors('# Tests\n## Tests\n```\n# not a heading\n```\n')]).toEqual(['tests', 'tests-1']);
  });

  it('holds wildcards to at least one match and names without an extension to a module', () => {
    expect(citedPathExists(PROJECT_ROOT, 'docs/*.png')).toBe(true);
    expect(citedPathExists(PROJECT_ROOT, 'test/fixtures/histories/<name>.json')).toBe(true);
    expect(citedPathExists(PROJECT_ROOT, 'docs/*.gif')).toBe(false);
    expect(citedPathExists(PROJECT_ROOT, 'lib/config')).toBe(true);
    expect(citedPathExists(PROJECT_ROOT, 'lib/no-such-module')).toBe(false);
    expect(citedPathExists(PROJECT_ROOT, '../shared')).toBe(false);
  });
});

describe('the repository', () => {
  it('has each top-level folder a path may start with, and each doc the check reads', () => {
    for (const folder of TOP_LEVEL_FOLDERS) expect(fs.statSync(path.join(PROJECT_ROOT, folder)).isDirectory()).toBe(true);
    for (const doc of markdownDocs(PROJECT_ROOT)) expect(fs.existsSync(path.join(PROJECT_ROOT, doc))).toBe(true);
  });

  it('cites only paths and headings that exist, in its comments and its docs', () => {
    expect(staleCitations(PROJECT_ROOT)).toEqual([]);
  });
});
