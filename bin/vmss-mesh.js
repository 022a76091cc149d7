#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (dist/cli/vmss-mesh.js, written by `npm run build` from src/cli): nothing
// is compiled at run time, so the installed package needs no TypeScript tooling.
const { existsSync } = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'dist', 'cli', 'vmss-mesh.js');
if (!existsSync(compiled)) {
  const checkout = existsSync(path.join(__dirname, '..', 'src', 'cli', 'main.ts'));
  process.stderr.write(
    checkout
      ? `vmss-mesh: the compiled CLI (${path.relative(process.cwd(), compiled) || compiled}) is missing: run \`npm run build\` in ${path.resolve(__dirname, '..')} first (npm start and npm test build it).\n`
      : `vmss-mesh: the compiled CLI (${compiled}) is missing: this installation is incomplete; reinstall the package.\n`,
  );
  process.exit(2);
}
const { runCli } = require(compiled);

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
