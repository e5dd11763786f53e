import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { terminalText } from './text.js';

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

/** Writes a line to standard output, control characters shown as escapes (see `terminalText`). */
export function out(line = ''): void {
  process.stdout.write(`${terminalText(line, true)}\n`);
}

/**
 * Runs an operator command against the database: opens the app (applying pending migrations),
 * runs `work`, and closes it. Info logs are left out (a command prints its own result). A
 * SQLite database that does not exist is an error (exit status 3) unless `create` is set.
 */
export async function withApp<T>(command: Command, work: (app: import('../app.js').App) => Promise<T>, options: { create?: boolean } = {}): Promise<T> {
  const config = configFrom(command);
  const [{ createApp }, { createLogger }, { dialectOf, sqlitePath }] = await Promise.all([import('../app.js'), import('../logger.js'), import('../storage/db.js')]);
  // A mistyped SQLite path must not quietly become a new, empty database (where nobody is suppressed).
  if (!options.create && dialectOf(config.database.url) === 'sqlite' && !existsSync(sqlitePath(config.database.url))) {
    throw new CliError(`no database at ${sqlitePath(config.database.url)} (check database.url; \`rebond migrate\` creates one)`, 3);
  }
  const logger = createLogger({ level: config.log.level === 'debug' ? 'debug' : 'warn', format: config.log.format });
  const app = await createApp(config, { logger });
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

/** True when progress bars may be drawn: standard error is a terminal. */
export function interactive(): boolean {
  return process.stderr.isTTY === true;
}
