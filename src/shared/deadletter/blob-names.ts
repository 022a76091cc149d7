/**
 * Names in a dead-letter container. Event Grid writes
 * `<EVENT-SUBSCRIPTION-NAME>/<yyyy>/<m>/<d>/<h>/<guid>.json` (the subscription name upper-cased,
 * the UTC date and hour not zero-padded; a system topic's name may come first). We move a blob
 * aside after a successful replay to `replayed/<same name>`, in the same container, so one SAS or
 * one role assignment covers both, and listing the dead letters is listing everything else.
 */
import { InvalidInputError } from '../errors';

export const REPLAYED_PREFIX = 'replayed/';

export function isReplayedName(name: string): boolean {
  return name.startsWith(REPLAYED_PREFIX);
}

export function replayedNameFor(name: string): string {
  if (isReplayedName(name)) throw new TypeError(`already a replayed blob's name: ${name}`);
  return `${REPLAYED_PREFIX}${name}`;
}

/** The event subscription a blob came from (the folder before the date), when the name has Event Grid's layout. */
export function subscriptionOfBlob(name: string): string | undefined {
  const match = /^(?:(.+)\/)?(\d{4})\/(\d{1,2})\/(\d{1,2})\/(\d{1,2})\/[^/]+$/.exec(name);
  const folders = match?.[1];
  if (folders === undefined) return undefined;
  return folders.split('/').pop();
}

const RELATIVE = /^(\d+)\s*(m|min|h|d)$/i;
const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`: an ISO 8601 time with a zone (`2025-06-01T12:00:00Z`, `2025-06-01T14:00+02:00`), a
 * date (`2025-06-01`, midnight UTC), or a span back from `now` (`30m`, `12h`, `7d`).
 */
export function parseSince(raw: string, now: number): Date {
  const text = raw.trim();
  const relative = RELATIVE.exec(text);
  if (relative) {
    const unit = UNIT_MS[(relative[2] ?? '').toLowerCase()] ?? 0;
    return new Date(now - Number(relative[1]) * unit);
  }
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(text);
  const parsed = dateOnly || withZone ? new Date(dateOnly ? `${text}T00:00:00Z` : text) : undefined;
  if (!parsed || Number.isNaN(parsed.getTime())) {
    throw new InvalidInputError(
      `expected an ISO 8601 time with a zone (2025-06-01T12:00:00Z), a date (2025-06-01) or a span such as 30m, 12h, 7d; got ${JSON.stringify(raw)}`,
      '--since',
    );
  }
  return parsed;
}
