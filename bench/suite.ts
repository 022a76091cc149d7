/**
 * The whole bench suite (`npm run bench`, issue 12): runs each part in turn as a child process
 * (`npm run bench:<part> --silent`, its own output passes through), reads the
 * `bench/results/<part>.json` it wrote (bench/results.ts), prints ONE table — figure, goal,
 * measured, verdict — and writes `bench/results/summary.json`.
 *
 * A missed goal is a verdict, not a failure: the exit code is non-zero only when a part crashed.
 * A part that exits without writing its JSON is shown with its exit status and "no figures".
 *
 *   node --import tsx bench/suite.ts [--only relay,bytes]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Figure } from './results';

const PARTS = ['relay', 'hostile', 'reconcile', 'latency', 'bytes', 'cold'] as const;
const RESULTS = path.join(__dirname, 'results');

interface PartOutcome {
  readonly part: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly seconds: number;
  readonly figures: readonly Figure[];
  readonly note?: string;
}

function runPart(part: string): Promise<{ exitCode: number | null; signal: string | null; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', `bench:${part}`, '--silent'], { stdio: 'inherit', cwd: path.join(__dirname, '..') });
    child.on('error', () => resolve({ exitCode: -1, signal: null, seconds: (performance.now() - started) / 1000 }));
    child.on('exit', (exitCode, signal) => resolve({ exitCode, signal, seconds: (performance.now() - started) / 1000 }));
  });
}

function readFigures(part: string): { figures: readonly Figure[]; note?: string } {
  const file = path.join(RESULTS, `${part}.json`);
  if (!existsSync(file)) return { figures: [], note: 'no figures' };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { figures?: unknown };
    if (!Array.isArray(parsed.figures)) return { figures: [], note: 'no figures (JSON without a figures array)' };
    return { figures: parsed.figures as Figure[] };
  } catch (error) {
    return { figures: [], note: `no figures (unreadable JSON: ${String(error)})` };
  }
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.min(70, Math.max(...rows.map((row) => row[column]!.length))));
  const line = (row: readonly string[]): string => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' } } });
  const wanted = values.only ? values.only.split(',').map((s) => s.trim()) : [...PARTS];
  const unknown = wanted.filter((part) => !(PARTS as readonly string[]).includes(part));
  if (unknown.length > 0) throw new TypeError(`unknown part(s) ${unknown.join(', ')}; parts: ${PARTS.join(', ')}`);
  mkdirSync(RESULTS, { recursive: true });
  const startedAt = new Date().toISOString();
  const outcomes: PartOutcome[] = [];
  for (const part of wanted) {
    rmSync(path.join(RESULTS, `${part}.json`), { force: true }); // never read a previous run's figures
    console.log(`\n=== bench:${part} ===`);
    const run = await runPart(part);
    outcomes.push({ part, ...run, ...readFigures(part) });
  }

  const rows: string[][] = [['part', 'figure', 'goal', 'measured', 'verdict']];
  for (const outcome of outcomes) {
    const status = outcome.exitCode === 0 ? 'exit 0' : outcome.signal ? `killed by ${outcome.signal}` : `exit ${outcome.exitCode}`;
    if (outcome.figures.length === 0) rows.push([outcome.part, outcome.note ?? 'no figures', '', `${status}, ${outcome.seconds.toFixed(0)} s`, '-']);
    for (const f of outcome.figures) rows.push([outcome.part, f.figure, f.goal, f.measured, f.verdict]);
    if (outcome.figures.length > 0 && outcome.exitCode !== 0) rows.push([outcome.part, '(part failed after writing figures)', '', status, '-']);
  }
  const seconds = outcomes.reduce((sum, o) => sum + o.seconds, 0);
  console.log(`\n=== bench suite: ${outcomes.length} parts in ${seconds.toFixed(0)} s on ${cpus().length} CPUs (load ${loadavg().map((l) => l.toFixed(2)).join(' ')}) ===`);
  console.log(table(rows));

  const summary = {
    startedAt,
    machine: { cpus: cpus().length, loadavg: loadavg(), node: process.version },
    seconds,
    parts: outcomes.map((o) => ({ part: o.part, exitCode: o.exitCode, signal: o.signal, seconds: o.seconds, note: o.note, figures: o.figures })),
  };
  writeFileSync(path.join(RESULTS, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`\nwritten: ${path.relative(process.cwd(), path.join(RESULTS, 'summary.json'))}`);
  if (outcomes.some((o) => o.exitCode !== 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
