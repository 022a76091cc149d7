/** What every `vmss-mesh` subcommand module shares: its I/O, exit codes, the usage error and flag parsing. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Env } from '../shared/config';
import { errorMessage } from '../shared/errors';

export interface CliIo {
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Env;
  readonly cwd: string;
}

/** A subcommand module exports `run`; it returns the exit code (or throws, see `runCli`). */
export type CommandRun = (args: string[], io: CliIo) => Promise<number>;

export interface CommandModule {
  readonly run: CommandRun;
}

/** 0 success, 1 failure (bad input, unreachable dependency), 2 usage or configuration error; `reconcile` adds 3 (RECONCILE_EXIT). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Thrown by a command for bad flags or arguments: printed with a pointer to `--help`, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** node:util's parseArgs, for every subcommand's flags: a flag it refuses is a UsageError (exit 2, with a pointer to --help). */
export function parseArgsOrUsage<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}
