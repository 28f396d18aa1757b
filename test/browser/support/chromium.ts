/**
 * A real browser for the browser tests: Debian's Chromium driven by playwright-core (whose own
 * `npx playwright install` downloads from a CDN this machine cannot reach). Installed with apt
 * when missing, started headless with a fresh profile that is thrown away afterwards.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const execFileAsync = promisify(execFile);

export const CHROMIUM = '/usr/bin/chromium';

/** Quiet and self-contained: no sandbox (root in CI), no GPU, nothing fetched in the background. */
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Installs Debian's chromium package if it is not there (as root, or through passwordless sudo). */
export async function ensureChromium(log: (line: string) => void = () => undefined): Promise<string> {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM;
  const root = process.getuid?.() === 0;
  const apt = (args: string[]) =>
    root
      ? execFileAsync('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 })
      : execFileAsync('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], { maxBuffer: 64 * 1024 * 1024 });
  log(`installing chromium with apt-get (${CHROMIUM} is missing)`);
  try {
    await apt(['install', '-y', 'chromium']);
  } catch {
    // A fresh machine may have no package lists yet.
    await apt(['update']);
    await apt(['install', '-y', 'chromium']);
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but ${CHROMIUM} is still missing`);
  return CHROMIUM;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(viewport = { width: 1400, height: 1000 }): Promise<Browser> {
  const executablePath = await ensureChromium();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: FLAGS, viewport });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens a page from disk (the HTML report) in its own tab; `fetched` lists what it asked for besides files, which is refused. */
export async function openOffline(browser: Browser, file: string): Promise<{ page: Page; fetched: string[] }> {
  const page = await browser.context.newPage();
  const fetched: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    fetched.push(url);
    return route.abort();
  });
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.goto(`file://${file}`);
  return { page, fetched };
}
