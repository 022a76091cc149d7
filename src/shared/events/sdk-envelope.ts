/**
 * The envelope check of @azure/eventgrid's EventGridDeserializer, for events that come from
 * somewhere other than Event Grid's wire: `deadletter replay` reads them from blobs (which anyone
 * with write access can have edited or truncated) and calls the `vmssEvents` handler directly.
 * The parser reads only the fields it uses; this checks the whole envelope every real event
 * has, by the SDK's rules: Event Grid schema: id, topic, subject, eventType, eventTime,
 * dataVersion (strings), metadataVersion "1", data present; CloudEvents 1.0: id, source, type,
 * specversion "1.0" (strings), time, subject, dataschema, datacontenttype strings when present.
 *
 * Loads the SDK (about 0.1 s): not re-exported from ./index, so the Functions bundle never
 * includes it; only the CLI command that needs it loads it, when it runs.
 */
import { EventGridDeserializer } from '@azure/eventgrid';
import { isCloudEvent } from './cloud-events';
import { describeValue, isObject } from './json-fields';

const deserializer = new EventGridDeserializer();

/** Why the SDK refuses `event`'s envelope (in either schema, auto-detected), or undefined when it takes it. */
export async function envelopeProblem(event: unknown): Promise<string | undefined> {
  // The deserializer also takes JSON text and arrays of events: only one event object is an event here.
  if (!isObject(event)) return `not an event: expected an object, got ${describeValue(event)}`;
  const schema = isCloudEvent(event) ? 'CloudEvents 1.0' : 'Event Grid schema';
  try {
    // The deserializer reads `event` and builds its own copies; `event` is left as it was.
    if (isCloudEvent(event)) await deserializer.deserializeCloudEvents({ ...event });
    else await deserializer.deserializeEventGridEvents({ ...event });
    return undefined;
  } catch (error) {
    return `not a complete ${schema} envelope (@azure/eventgrid): ${error instanceof Error ? error.message : String(error)}`;
  }
}
