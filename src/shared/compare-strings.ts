/** Code-unit order, independent of locale (localeCompare is not): for sorts that must be deterministic. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
