/** `segment generate --rows N --out PATH`: a workbook shaped (and soiled) like the UCI export. */
import fs from 'node:fs';
import path from 'node:path';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';

export async function generateCommand(options: { rows: number; out: string; seed?: number; json?: boolean }): Promise<number> {
  fs.mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true });
  const expected = await generateWorkbook({ outPath: options.out, rows: options.rows, seed: options.seed });
  if (options.json) console.log(JSON.stringify({ file: path.resolve(options.out), ...expected }));
  else console.log(`wrote ${options.rows.toLocaleString('en-US')} rows to ${path.resolve(options.out)} (${expected.customers} customers, ${expected.low} Low / ${expected.high} High expected)`);
  return 0;
}
