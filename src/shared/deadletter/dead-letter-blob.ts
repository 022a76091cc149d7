/**
 * What Event Grid writes to a dead-letter container: one JSON blob per batch it gave up on,
 * holding a JSON array of the original events, each with Event Grid's delivery record added at
 * the top level: `deadLetterReason`, `deliveryAttempts`, `lastDeliveryOutcome`,
 * `lastHttpStatusCode`, `publishTime`, `lastDeliveryAttemptTime` (lower-case names in the
 * CloudEvents schema, where attributes must be lower-case). Nothing here knows about storage.
 *
 * The record is split off so the event handed back to the function is the event Event Grid
 * originally delivered, byte for byte apart from those fields.
 */
import { InvalidInputError } from '../errors';
import { describeValue, isObject, type JsonObject } from '../events/json-fields';

/** Event Grid's delivery record of one dead-lettered event (every field optional: we only show it). */
export interface DeadLetterRecord {
  readonly deadLetterReason?: string;
  readonly deliveryAttempts?: number;
  readonly lastDeliveryOutcome?: string;
  readonly lastHttpStatusCode?: number;
  readonly publishTime?: string;
  readonly lastDeliveryAttemptTime?: string;
}

export interface DeadLetteredEvent {
  /** Position in the blob's array. */
  readonly index: number;
  /** The event's `id` when it has a string one (for messages), else `''`. */
  readonly eventId: string;
  /** The event as Event Grid delivered it, without the dead-letter record. */
  readonly event: JsonObject;
  readonly record: DeadLetterRecord;
}

const RECORD_FIELDS = ['deadLetterReason', 'deliveryAttempts', 'lastDeliveryOutcome', 'lastHttpStatusCode', 'publishTime', 'lastDeliveryAttemptTime'] as const;
type RecordField = (typeof RECORD_FIELDS)[number];
const NUMERIC_FIELDS: ReadonlySet<RecordField> = new Set(['deliveryAttempts', 'lastHttpStatusCode']);
const BY_LOWER = new Map<string, RecordField>(RECORD_FIELDS.map((name) => [name.toLowerCase(), name]));

/**
 * Parses one dead-letter blob. A blob that is not a JSON array of objects throws
 * `InvalidInputError` (naming the element), since it cannot have come from Event Grid and
 * replaying it can never succeed.
 */
export function parseDeadLetterBlob(text: string): DeadLetteredEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  // Event Grid always writes an array; a single object is accepted as a batch of one, so a blob
  // written by hand (or by an older writer) is not stranded.
  const items: unknown[] = Array.isArray(body) ? body : [body];
  if (items.length === 0) throw new InvalidInputError('expected at least one dead-lettered event, got an empty array');
  return items.map((item, index) => splitRecord(item, index));
}

function splitRecord(item: unknown, index: number): DeadLetteredEvent {
  if (!isObject(item)) throw new InvalidInputError(`expected an event object, got ${describeValue(item)}`, `[${index}]`);
  const event: Record<string, unknown> = {};
  const record: { -readonly [K in RecordField]?: string | number } = {};
  for (const [key, value] of Object.entries(item)) {
    const field = BY_LOWER.get(key.toLowerCase());
    if (field === undefined) {
      event[key] = value;
      continue;
    }
    // Shown, never acted on: keep what has the documented type and drop the rest quietly.
    if (NUMERIC_FIELDS.has(field) ? typeof value === 'number' : typeof value === 'string') record[field] = value as string | number;
  }
  const id = event['id'];
  return { index, eventId: typeof id === 'string' ? id : '', event, record: record as DeadLetterRecord };
}

/** One line for humans: `UndeliverableDueToHttpBadRequest after 1 attempt (BadRequest, HTTP 400)`. */
export function describeRecord(record: DeadLetterRecord): string {
  const parts: string[] = [record.deadLetterReason ?? 'dead-lettered'];
  if (record.deliveryAttempts !== undefined) parts.push(`after ${record.deliveryAttempts} attempt${record.deliveryAttempts === 1 ? '' : 's'}`);
  const outcome = [record.lastDeliveryOutcome, record.lastHttpStatusCode === undefined ? undefined : `HTTP ${record.lastHttpStatusCode}`].filter(Boolean);
  if (outcome.length > 0) parts.push(`(${outcome.join(', ')})`);
  return parts.join(' ');
}
