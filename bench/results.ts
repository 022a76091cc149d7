/**
 * The bench results contract (issue 12): every part prints its own table and writes
 * `bench/results/<part>.json` with the machine it ran on; bench/suite.ts reads them all.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';

export type Verdict = 'met' | 'missed' | 'info';

export interface Figure {
  readonly figure: string;
  readonly goal: string;
  readonly measured: string;
  readonly verdict: Verdict;
  readonly value?: number;
  readonly unit?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

const startedAt = new Date().toISOString();

/**
 * Writes `bench/results/<part>.json`; returns its path. An ES module part passes `dir` (there,
 * `__dirname` is not this file's folder).
 */
export function writeResults(part: string, figures: readonly Figure[], dir: string = path.join(__dirname, 'results')): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${part}.json`);
  const machine = { cpus: cpus().length, loadavg: loadavg(), node: process.version };
  writeFileSync(file, `${JSON.stringify({ part, machine, startedAt, figures }, null, 2)}\n`);
  return file;
}
