/**
 * Reader for one CloudEvents 1.0 event in JSON structured mode, as Event Grid delivers system
 * events with the CloudEvents schema: `{specversion, id, source, subject, type, time, data}`.
 * (CloudEvents endpoints are validated with an HTTP OPTIONS abuse-protection handshake, not an event.)
 */
import { InvalidInputError } from '../errors';
import { expectObject, joinPath, requiredString, type JsonObject } from './json-fields';
import type { EventEnvelope } from './resource-event';

export function isCloudEvent(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'specversion' in value;
}

export function readCloudEvent(value: unknown, path: string): EventEnvelope {
  const event: JsonObject = expectObject(value, path);
  if (!('specversion' in event) && 'eventType' in event) {
    throw new InvalidInputError('an Event Grid schema event inside a CloudEvents delivery (one delivery uses one schema)', path);
  }
  const specversion = requiredString(event, 'specversion', path);
  if (specversion !== '1.0') {
    throw new InvalidInputError(`unsupported CloudEvents specversion ${JSON.stringify(specversion)} (expected "1.0")`, joinPath(path, 'specversion'));
  }
  const eventId = requiredString(event, 'id', path);
  requiredString(event, 'source', path);
  const eventType = requiredString(event, 'type', path);
  if (event['data'] === undefined && event['data_base64'] !== undefined) {
    throw new InvalidInputError('binary data (data_base64) is not supported: ARM events carry JSON data', joinPath(path, 'data_base64'));
  }
  return { eventId, eventType, eventTime: event['time'], timeKey: 'time', data: event['data'], path };
}
