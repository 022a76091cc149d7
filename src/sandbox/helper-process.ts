/**
 * A helper program the sandbox runs beside itself (`consul agent -dev`, `func start`): the tail of
 * its output for error messages, a close that stops it and removes its scratch folder, and a wait
 * until it answers.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface HelperProcess {
  readonly child: ChildProcess;
  /** The last characters it wrote (stdout and stderr together). */
  output(): string;
  /** Stops it (SIGTERM) if it runs, waits for its exit, then removes its scratch folder. */
  close(): Promise<void>;
}

export interface HelperProcessOptions {
  readonly cwd?: string;
  readonly env?: SpawnOptions['env'];
  /** Removed when the process is closed. */
  readonly scratchDir: string;
  /** How much of its output `output()` keeps. */
  readonly tailChars: number;
  /** Sees every chunk it writes (e.g. to log it line by line). */
  readonly onOutput?: (chunk: string) => void;
}

export function startHelperProcess(command: string, args: readonly string[], options: HelperProcessOptions): HelperProcess {
  const child: ChildProcess = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-options.tailChars);
    options.onOutput?.(chunk.toString());
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(options.scratchDir, { recursive: true, force: true });
    },
  };
}

export interface ReadyWait {
  /** How errors name the process, e.g. `func start`. */
  readonly name: string;
  /** True once it serves. */
  readonly ready: () => Promise<boolean>;
  readonly timeoutMs: number;
  /** What the timeout error says after the name, e.g. `did not answer on … in time`. */
  readonly notReady: string;
  readonly pollMs: number;
}

/**
 * Asks `ready` every `pollMs` until it says yes. When the process exits first, or `timeoutMs`
 * passes, the process is closed and the error carries the tail of its output.
 */
export async function waitUntilReady(helper: HelperProcess, wait: ReadyWait): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    if (helper.child.exitCode !== null) {
      await helper.close();
      throw new Error(`${wait.name} exited (${helper.child.exitCode}): ${helper.output()}`);
    }
    if (await wait.ready()) return;
    if (Date.now() > deadline) {
      await helper.close();
      throw new Error(`${wait.name} ${wait.notReady}: ${helper.output()}`);
    }
    await new Promise((r) => setTimeout(r, wait.pollMs));
  }
}
