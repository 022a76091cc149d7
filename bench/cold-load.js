// One cold start, in a fresh process (run by bench/cold-start.mjs):
//
//   node bench/cold-load.js ENTRY [--also MODULE]... [--invoke]
//
// Makes `@azure/functions-core` resolvable first, as the Functions Node worker does (a minimal
// stand-in, bench/functions-core-stub.js: it records the registered functions and otherwise does
// nothing), then times require(ENTRY): the worker's load of the app (each --also MODULE is
// required in the same timed span, after the entry). With --invoke it then calls the `status`
// handler once, as the first invocation would: that builds the app's runtime (ARM clients, Consul
// registry, push client) from the settings in the environment; the status read then fails
// against the unreachable Consul address the bench gives, so the time is the runtime's build
// plus one refused connection. Prints one JSON line.
'use strict';
const { installFunctionsCoreStub, invokeStatus } = require('./functions-core-stub');

const registered = installFunctionsCoreStub();

async function main() {
  const { values, positionals } = require('node:util').parseArgs({
    allowPositionals: true,
    options: { also: { type: 'string', multiple: true, default: [] }, invoke: { type: 'boolean', default: false } },
  });
  const [entry] = positionals;
  if (!entry || positionals.length > 1) throw new TypeError('usage: node bench/cold-load.js ENTRY [--also MODULE]... [--invoke]');
  const started = performance.now();
  require(entry);
  for (const module of values.also) require(module);
  const loadMs = performance.now() - started;
  // loadStartedAtMs: performance.now() when the load began, i.e. ms since the process's time origin (Node's own start-up).
  const report = { loadMs, functions: registered.map((f) => f.name), loadStartedAtMs: started };
  if (values.invoke) {
    const invoked = performance.now();
    const { response } = await invokeStatus(registered, 'cold-start');
    report.firstInvocationMs = performance.now() - invoked;
    report.firstInvocationStatus = response.status;
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
