/**
 * How many inputs each fuzz property tries. `npm test` runs a count that keeps the whole fuzz suite
 * within its time budget; `npm run fuzz` sets VMSS_MESH_FUZZ_RUNS=100000 (or any count) for the deep run.
 * VMSS_MESH_FUZZ_SEED replays one run (fast-check prints the seed of a failure).
 */
import type { TestContext } from 'node:test';
import fc from 'fast-check';

function fuzzRuns(inTest: number): number {
  const raw = process.env['VMSS_MESH_FUZZ_RUNS'];
  if (raw === undefined || raw === '') return inTest;
  const runs = Number(raw);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new TypeError(`VMSS_MESH_FUZZ_RUNS must be a whole number ≥ 1, got ${JSON.stringify(raw)}`);
  return runs;
}

/**
 * Checks `property` on `fuzzRuns(inTest)` inputs (seeded by VMSS_MESH_FUZZ_SEED when set) and
 * reports how fast it went as a test diagnostic ("fuzz LABEL: N inputs in S s (R/s)").
 */
export async function fuzz<Ts>(t: TestContext, label: string, inTest: number, property: fc.IRawProperty<Ts>): Promise<void> {
  const seed = process.env['VMSS_MESH_FUZZ_SEED'];
  const runs = fuzzRuns(inTest);
  const started = process.hrtime.bigint();
  await fc.assert(property, { numRuns: runs, ...(seed ? { seed: Number(seed) } : {}) });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.diagnostic(`fuzz ${label}: ${runs} inputs in ${seconds.toFixed(2)} s (${Math.round(runs / seconds)}/s)`);
}

/**
 * Calls `parse` and returns what it threw, or undefined. Anything thrown that is not an instance of
 * `errorClass` with a non-empty message fails the property with the input shown.
 */
export function onlyThrows(errorClass: abstract new (...args: never[]) => Error, parse: () => unknown): Error | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    if (!(error instanceof errorClass)) throw new Error(`threw ${describe(error)} instead of ${errorClass.name}`, { cause: error });
    if (error.message.trim() === '') throw new Error(`threw ${errorClass.name} with an empty message`);
    return error;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : `a non-Error value ${String(error)}`;
}
