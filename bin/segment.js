#!/usr/bin/env node
// The `segment` command. The project runs from its TypeScript sources through tsx, so there is
// no build step between `npm ci` and `npx segment`.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
// Settings from ./.env, if there is one (see .env.example); the environment still wins.
if (fs.existsSync('.env')) process.loadEnvFile('.env');

// tsx compiles our .ts files (cached in $TMPDIR/tsx-$UID between runs). It also reads every
// JavaScript file of node_modules to look for ESM syntax, which costs a worker about 250 ms of
// its start (550 ms of module loading instead of 300): our dependencies are CommonJS, so their
// .js files go to Node's own loader.
const nodeJavaScript = Module._extensions['.js'];
require('tsx/cjs/api').register();
const tsxJavaScript = Module._extensions['.js'];
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;
Module._extensions['.js'] = function loadJavaScript(module, filename) {
  return (filename.includes(NODE_MODULES) ? nodeJavaScript : tsxJavaScript).call(this, module, filename);
};

require('../cli/main.ts');
