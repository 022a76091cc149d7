#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI without a build step: tsx compiles each module as it is required.
require('tsx/cjs');
const { runCli } = require('../src/cli/main.ts');

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
