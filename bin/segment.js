#!/usr/bin/env node
// The `segment` command: the CLI as `npm run build` compiled it into dist/ (`npm ci` and
// `npm install` run the build), run by plain node.
const fs = require('node:fs');
const path = require('node:path');
// Settings from ./.env, if there is one (see .env.example); the environment still wins.
if (fs.existsSync('.env')) process.loadEnvFile('.env');

const main = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  console.error(`segment: ${path.relative(process.cwd(), main) || main} is missing: run \`npm run build\` first (npm ci and npm install run it)`);
  process.exit(1);
}
warnIfSourcesChanged();
require(main);

/**
 * dist/ is what runs: a source edited after the last build would silently not be. A stat of each
 * source file (a few milliseconds) against the build's record says so on stderr.
 */
function warnIfSourcesChanged() {
  const root = path.join(__dirname, '..');
  let built;
  try {
    built = fs.statSync(path.join(root, 'dist', '.tsbuildinfo')).mtimeMs;
  } catch {
    return; // not built by tsc -b (e.g. a copied dist/): nothing to compare with
  }
  const newer = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) return newer(file);
      return entry.name.endsWith('.ts') && fs.statSync(file).mtimeMs > built;
    });
  const folders = ['lib', 'workflows', 'activities', 'workers', 'migrations', 'cli', 'infra'].map((name) => path.join(root, name));
  if (folders.some((dir) => fs.existsSync(dir) && newer(dir))) {
    console.error('segment: the sources changed since the last build; this runs the old dist/ (run `npm run build`)');
  }
}
