// A minimal stand-in for `@azure/functions-core`, the module the Functions Node worker hands the
// app at run time: it records the functions `@azure/functions` registers and otherwise does
// nothing. Shared by bench/cold-load.js and test/integration/functions-package.test.ts, which load
// the app in a fresh process as the worker does. (The faithful stand-in, which runs invocations
// through the registered programming model, is src/sandbox/functions-worker.)
'use strict';
const Module = require('node:module');

const CORE = '@azure/functions-core';

/**
 * Makes `require('@azure/functions-core')` give the stand-in from now on; returns the list the
 * registrations go to ({ name, handler } each, in registration order).
 */
function installFunctionsCoreStub() {
  const registered = [];
  const core = {
    setProgrammingModel() {},
    registerFunction(metadata, handler) {
      registered.push({ name: metadata.name, handler });
      return { dispose() {} };
    },
    registerHook() {
      return { dispose() {} };
    },
    log() {},
  };
  const stub = new Module(CORE);
  stub.loaded = true;
  stub.exports = core;
  require.cache[CORE] = stub;
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return request === CORE ? CORE : resolve.call(this, request, ...rest);
  };
  return registered;
}

/**
 * Calls the registered `status` handler once with a GET /api/status request, as the first
 * invocation would; resolves with its response and what it logged as errors.
 */
async function invokeStatus(registered, invocationId = 'stub') {
  const status = registered.find((f) => f.name === 'status');
  if (!status) throw new Error(`no status function was registered (registered: ${registered.map((f) => f.name).join(', ') || 'none'})`);
  const errors = [];
  const ignore = () => undefined;
  const context = { invocationId, functionName: 'status', log: ignore, trace: ignore, debug: ignore, info: ignore, warn: ignore, error: (e) => errors.push(e) };
  const response = await status.handler({ method: 'GET', url: 'http://localhost/api/status', headers: new Headers(), query: new URLSearchParams(), params: {} }, context);
  return { response, errors };
}

module.exports = { CORE, installFunctionsCoreStub, invokeStatus };
