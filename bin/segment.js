#!/usr/bin/env node
// The `segment` command. The project runs from its TypeScript sources through tsx, so there is
// no build step between `npm ci` and `npx segment`.
const fs = require('node:fs');
// Settings from ./.env, if there is one (see .env.example); the environment still wins.
if (fs.existsSync('.env')) process.loadEnvFile('.env');
require('tsx/cjs/api').register();
require('../cli/main.ts');
