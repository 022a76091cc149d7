/**
 * One log record as one JSON line. The Node.js worker formats what a function logs with
 * util.format, so an object arrives in Application Insights (and in `func start` or the local
 * host) as multi-line inspect output; a JSON string stays one line that KQL's parse_json, the
 * sandbox's timeline and tests can read.
 */
export function logLine(record: object): string {
  return JSON.stringify(record);
}
