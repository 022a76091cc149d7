/**
 * The longest time between two runs of a 6-field NCRONTAB schedule (`second minute hour day month
 * weekday`, as Azure Functions timers take it): what "the timer period" means when staleness is
 * judged (a scale set not reconciled for twice this long is flagged by `status`).
 *
 * Fields take `*`, `?` (day fields), numbers, ranges `a-b`, steps `*\/n`, `a/n`, `a-b/n`, lists, and
 * English month / weekday abbreviations. When day or month are restricted, the gaps are measured over
 * two years of calendar (UTC), so `0 0 0 * * Mon` is 7 days. Answers undefined for anything it cannot
 * read; callers then leave staleness out rather than guess.
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** First name's value (months start at 1, weekdays at 0). */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { min: 0, max: 7, names: WEEKDAYS, nameBase: 0 },
];

function value(text: string, spec: FieldSpec): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const i = spec.names?.indexOf(text.toLowerCase().slice(0, 3)) ?? -1;
  return i >= 0 && text.length >= 3 ? i + (spec.nameBase ?? 0) : undefined;
}

/** The values a field allows, or undefined when it is not readable; `all` when it is `*` / `?`. */
function parseField(text: string, spec: FieldSpec): { values: Set<number>; all: boolean } | undefined {
  const values = new Set<number>();
  const all = text === '*' || text === '?';
  for (const part of text.split(',')) {
    const [range, stepText, ...extra] = part.split('/');
    if (range === undefined || extra.length > 0) return undefined;
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) ? Number(stepText) : 0;
    if (step < 1) return undefined;
    let from: number | undefined;
    let to: number | undefined;
    if (range === '*' || range === '?') {
      from = spec.min;
      to = spec.max;
    } else {
      const bounds = range.split('-');
      if (bounds.length > 2) return undefined;
      from = value(bounds[0] ?? '', spec);
      to = bounds.length === 2 ? value(bounds[1] ?? '', spec) : stepText === undefined ? from : spec.max;
    }
    if (from === undefined || to === undefined || from < spec.min || to > spec.max || from > to) return undefined;
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values.size > 0 ? { values, all } : undefined;
}

const DAY_MS = 86_400_000;

/** Longest gap in ms between consecutive runs of `schedule`, or undefined when it cannot be read. */
export function schedulePeriodMs(schedule: string): number | undefined {
  return scheduleGapsMs(schedule)?.longest;
}

/**
 * Shortest and longest gap in ms between consecutive runs of `schedule` (the timer's retries must
 * end within the shortest, staleness is judged on the longest), or undefined when it cannot be read.
 */
export function scheduleGapsMs(schedule: string): { readonly shortest: number; readonly longest: number } | undefined {
  const texts = schedule.trim().split(/\s+/);
  if (texts.length !== 6) return undefined;
  const fields = texts.map((t, i) => parseField(t, FIELDS[i]!));
  if (fields.some((f) => f === undefined)) return undefined;
  const [seconds, minutes, hours, days, months, weekdays] = fields as Array<{ values: Set<number>; all: boolean }>;
  if (weekdays!.values.has(7)) weekdays!.values.add(0);

  const inDay: number[] = [];
  for (const h of [...hours!.values].sort((a, b) => a - b))
    for (const m of [...minutes!.values].sort((a, b) => a - b))
      for (const s of [...seconds!.values].sort((a, b) => a - b)) inDay.push((h * 3600 + m * 60 + s) * 1000);
  const first = inDay[0]!;
  const last = inDay[inDay.length - 1]!;
  let gap = 0;
  let shortest = Infinity;
  for (let i = 1; i < inDay.length; i += 1) {
    gap = Math.max(gap, inDay[i]! - inDay[i - 1]!);
    shortest = Math.min(shortest, inDay[i]! - inDay[i - 1]!);
  }

  if (days!.all && months!.all && weekdays!.all) {
    const overnight = DAY_MS - last + first;
    return { shortest: Math.min(shortest, overnight), longest: Math.max(gap, overnight) };
  }

  // Cron's rule: with both day-of-month and weekday restricted, a day matching either runs.
  const start = Date.UTC(2025, 0, 1);
  const matching: number[] = [];
  for (let d = 0; d < 2 * 366; d += 1) {
    const date = new Date(start + d * DAY_MS);
    const dom = days!.values.has(date.getUTCDate());
    const dow = weekdays!.values.has(date.getUTCDay());
    const dayOk = days!.all ? dow : weekdays!.all ? dom : dom || dow;
    if (dayOk && months!.values.has(date.getUTCMonth() + 1)) matching.push(d);
  }
  if (matching.length < 2) return undefined;
  for (let i = 1; i < matching.length; i += 1) {
    const between = (matching[i]! - matching[i - 1]!) * DAY_MS - last + first;
    gap = Math.max(gap, between);
    shortest = Math.min(shortest, between);
  }
  return { shortest, longest: gap };
}
