/**
 * Bindings as the Functions host reads them from a worker-indexed function: `rawBindings`, one
 * JSON document per binding (its name, type, direction and the type's own properties such as
 * route, methods, authLevel or schedule).
 */
import type { RpcFunctionMetadata } from './core-api';

export interface RawBinding {
  readonly name: string;
  readonly type: string;
  readonly direction: string;
  readonly [property: string]: unknown;
}

export function rawBindingsOf(metadata: RpcFunctionMetadata): RawBinding[] {
  return (metadata.rawBindings ?? []).map((text, index) => {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${metadata.name}: rawBindings[${index}] is not a JSON object`);
    const binding = value as Record<string, unknown>;
    for (const key of ['name', 'type', 'direction'] as const) {
      if (typeof binding[key] !== 'string') throw new TypeError(`${metadata.name}: rawBindings[${index}].${key} is not a string`);
    }
    return binding as RawBinding;
  });
}

/** The function's trigger: its one binding whose type ends in "Trigger" (as the host and the library tell them apart). */
export function triggerOf(metadata: RpcFunctionMetadata): RawBinding {
  const triggers = rawBindingsOf(metadata).filter((b) => /trigger$/i.test(b.type));
  const [trigger] = triggers;
  if (!trigger || triggers.length > 1) throw new TypeError(`${metadata.name}: expected exactly one trigger binding, found ${triggers.length}`);
  return trigger;
}
