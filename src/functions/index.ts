/**
 * The Functions app's entry (package.json `main`): registers every function with the runtime.
 * The local host (src/sandbox/functions-host) serves the same list.
 */
import { app } from '@azure/functions';
import { allFunctions } from './all-functions';

for (const definition of allFunctions(process.env)) {
  if (definition.kind === 'eventGrid') app.eventGrid(definition.name, definition.options);
  else if (definition.kind === 'http') app.http(definition.name, definition.options);
  else app.timer(definition.name, definition.options);
}
