/**
 * The Functions app's entry (the packaged app's `main`, bundled by build/functions-app.mjs):
 * registers every function with the worker through `@azure/functions`. The local host
 * (src/sandbox/functions-host) loads the same bundle through a stand-in of the worker.
 */
import { app } from '@azure/functions';
import { allFunctions } from './all-functions';
import { resetAppRuntime } from './app-runtime-cache';

for (const definition of allFunctions(process.env)) {
  if (definition.kind === 'eventGrid') app.eventGrid(definition.name, definition.options);
  else if (definition.kind === 'http') app.http(definition.name, definition.options);
  else app.timer(definition.name, definition.options);
}

// The worker runs appTerminate hooks when the host shuts the app down: close the runtime's
// Consul and relay connections instead of leaving them to the process's end.
app.hook.appTerminate(() => resetAppRuntime());
