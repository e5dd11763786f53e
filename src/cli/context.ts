import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config.js';

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  config?: string;
  dev?: boolean;
}

/** Loads the configuration from the root program's options; a bad config exits with status 2. */
export function configFrom(command: Command): Config {
  const opts = command.optsWithGlobals<GlobalOptions>();
  try {
    const config = loadConfig({ file: opts.config, dev: opts.dev });
    if (config.devSecret) process.stderr.write('rebond: warning: development mode, using the built-in VERP secret (never in production)\n');
    return config;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** An error that ends the command with a message and an exit status, without a stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** Writes a line to standard output. */
export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}
