/**
 * docs/configuration.md's table of the workflow input's fields is made from the schema
 * (workflows/segmentation-input.ts); this fails while the committed table is not what the schema
 * makes now, and says how to refresh it.
 */
import fs from 'node:fs';
import { CONFIGURATION_DOC, REFRESH_COMMAND, inputFieldsTable, withInputFieldsTable } from '../../cli/input-fields-doc';
import { INPUT_FIELD_NAMES } from '../../workflows/segmentation-input';

test('the input field table in docs/configuration.md is current', () => {
  const committed = fs.readFileSync(CONFIGURATION_DOC, 'utf8');
  if (withInputFieldsTable(committed) !== committed) {
    throw new Error(`docs/configuration.md's input field table is stale (the fields in workflows/segmentation-input.ts changed): run \`${REFRESH_COMMAND}\` and commit the result`);
  }
});

test('the table has one row per field, in field order, and only the markers\' text is replaced', () => {
  const rows = inputFieldsTable()
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  expect(rows.map((row) => /^\| `(\w+)`/.exec(row)![1])).toEqual(INPUT_FIELD_NAMES);
  const doc = '# Configuration\n\nbefore\n<!-- input-fields:begin -->\nold table\n<!-- input-fields:end -->\nafter\n';
  expect(withInputFieldsTable(doc)).toBe(`# Configuration\n\nbefore\n<!-- input-fields:begin -->\n${inputFieldsTable()}\n<!-- input-fields:end -->\nafter\n`);
  expect(() => withInputFieldsTable('# no markers\n')).toThrow(/markers/);
});
