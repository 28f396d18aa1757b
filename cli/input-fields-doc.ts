/**
 * The workflow input's field table in docs/configuration.md, made from the fields' one
 * definition (workflows/segmentation-input.ts), between the markers
 * `<!-- input-fields:begin -->` and `<!-- input-fields:end -->`.
 *
 *   npm run docs:input   rewrites the table (test/unit/input-fields-doc.test.ts fails while it is stale)
 */
import fs from 'node:fs';
import path from 'node:path';
import { INPUT_FIELDS, INPUT_FIELD_NAMES, type InputField, type InputFlag } from '../workflows/segmentation-input';

export const CONFIGURATION_DOC = path.join(__dirname, '..', 'docs', 'configuration.md');
export const REFRESH_COMMAND = 'npm run docs:input';
const BEGIN = '<!-- input-fields:begin -->';
const END = '<!-- input-fields:end -->';

/** The table, one row per field in field order. */
export function inputFieldsTable(): string {
  const rows = INPUT_FIELD_NAMES.map((name) => {
    const { docs, flags }: InputField = INPUT_FIELDS[name];
    return [`\`${name}\``, docs.default, docs.values, flagsCell(flags), docs.meaning];
  });
  return [
    `<!-- Made from workflows/segmentation-input.ts by \`${REFRESH_COMMAND}\`: edit the fields there, not this table. -->`,
    '| field | default | values | flag of `segment run` / `schedule create\\|update` | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((cells) => `| ${cells.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

/** `doc` with the text between the markers replaced by the current table. */
export function withInputFieldsTable(doc: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`no ${BEGIN} ... ${END} markers to put the input field table between`);
  return `${doc.slice(0, begin + BEGIN.length)}\n${inputFieldsTable()}\n${doc.slice(end)}`;
}

/** `--threshold` (`run`, `schedule`); the audit flags as the checks' own pair. */
function flagsCell(flags: InputField['flags']): string {
  const commands = (['run', 'schedule'] as const).filter((command) => flags[command] !== undefined);
  if (commands.length === 0) return '';
  const names = [...new Set(commands.map((command) => flagName(flags[command]!)))];
  return `${names.join(', ')} (${commands.map((command) => `\`${command}\``).join(', ')})`;
}

function flagName(flag: InputFlag): string {
  if (flag.value === 'audit') return '`--audit NAME=VALUE`, `--no-audit`';
  return `\`${flag.flag.split(' ')[0]}\``;
}

/** A `|` inside a cell would end it. */
function escapeCell(text: string): string {
  return text.replace(/(?<!\\)\|/g, '\\|');
}

if (require.main === module) {
  const before = fs.readFileSync(CONFIGURATION_DOC, 'utf8');
  const after = withInputFieldsTable(before);
  fs.writeFileSync(CONFIGURATION_DOC, after);
  console.log(after === before ? `${path.relative(process.cwd(), CONFIGURATION_DOC)} was up to date` : `rewrote the input field table in ${path.relative(process.cwd(), CONFIGURATION_DOC)}`);
}
