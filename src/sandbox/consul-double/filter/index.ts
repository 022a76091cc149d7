/**
 * Consul's `filter` query parameter for the double: parse (go-bexpr v0.1.2's grammar), check the
 * selectors against the record type, then keep the records the expression matches. Every failure
 * is a `FilterError` whose message is what Consul answers for it.
 */
import { FilterError } from './ast';
import { compile } from './evaluate';
import type { Predicate } from './evaluate';
import { parseFilter } from './parser';
import type { StructType } from './schema';

export { FilterError, formatExpression, formatSelector, quote } from './ast';
export type { Expression, MatchExpression, MatchOperator } from './ast';
export { parseFilter } from './parser';
export type { Predicate } from './evaluate';
export { CHECK_SERVICE_NODE, HEALTH_CHECK, NODE, NODE_SERVICE, SERVICE_NODE } from './schema';
export type { FieldType, StructType } from './schema';

/** Consul's prefix for every error of creating a filter (agent/consul/*_endpoint.go via bexpr.CreateFilter). */
export const FILTER_ERROR_PREFIX = 'Failed to create boolean expression evaluator: ';

/** The predicate of `expression` over records of type `root`; throws `FilterError` with Consul's full message. */
export function createFilter(expression: string, root: StructType): Predicate {
  try {
    return compile(parseFilter(expression), root);
  } catch (error) {
    if (error instanceof FilterError) throw new FilterError(`${FILTER_ERROR_PREFIX}${error.message}`);
    // Deep parentheses or `not`s recurse; Consul (Go, growing stacks) has no such limit.
    if (error instanceof RangeError) throw new FilterError(`${FILTER_ERROR_PREFIX}expression nested too deeply for the Consul double`);
    throw error;
  }
}
