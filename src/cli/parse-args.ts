/** node:util's parseArgs for subcommands: a flag it refuses is a usage error (exit 2, with a pointer to --help). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errorMessage } from '../shared/errors';
import { UsageError } from './command';

export function parseArgsOrUsage<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}
