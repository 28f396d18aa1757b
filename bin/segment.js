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
require(main);
