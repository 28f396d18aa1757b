/**
 * Where the browser tests keep what they saw: every run's screenshots under
 * STACK_DIR/screenshots/browser (not committed, replaced each run); with DOCS_SCREENSHOTS=1 the
 * ones the docs show (docs/operations.md) are also copied into docs/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { loadStackSettings } from '../../../infra/stack/stack-settings';
import { PROJECT_ROOT } from '../../../lib/config';

export const SCREENSHOT_DIR = path.join(loadStackSettings().stackDir, 'screenshots', 'browser');
export const DOCS_DIR = path.join(PROJECT_ROOT, 'docs');

/** Refreshing the docs' pictures: the browser test then also fills the form exactly as docs/operations.md says. */
export const DOCS_MODE = process.env.DOCS_SCREENSHOTS === '1';

export async function screenshot(page: Page, name: string, options: { fullPage?: boolean; forDocs?: boolean } = {}): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
  if (DOCS_MODE && options.forDocs) {
    fs.mkdirSync(DOCS_DIR, { recursive: true });
    fs.copyFileSync(file, path.join(DOCS_DIR, `${name}.png`));
  }
  return file;
}
