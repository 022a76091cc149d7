/**
 * Reader for one event in the Event Grid schema:
 * `{id, topic, subject, eventType, eventTime, data, dataVersion, metadataVersion}`.
 * Only what we use is checked; Event Grid adds fields over time and we must not reject them.
 */
import { InvalidInputError } from '../errors';
import { expectObject, requiredString, type JsonObject } from './json-fields';
import type { EventEnvelope } from './resource-event';

export function isEventGridEvent(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'eventType' in value;
}

export function readEventGridEvent(value: unknown, path: string): EventEnvelope {
  const event: JsonObject = expectObject(value, path);
  if (!('eventType' in event) && 'specversion' in event) {
    throw new InvalidInputError('a CloudEvent inside an Event Grid schema delivery (one delivery uses one schema)', path);
  }
  const eventId = requiredString(event, 'id', path);
  const eventType = requiredString(event, 'eventType', path);
  return { eventId, eventType, eventTime: event['eventTime'], timeKey: 'eventTime', data: event['data'], path };
}
