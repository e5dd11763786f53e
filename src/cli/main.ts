import { Command, CommanderError } from 'commander';
import { errorCode, errorText } from '../logger.js';
import { CliError } from './context.js';
import { register as registerCheck } from './commands/check.js';
import { register as registerContact } from './commands/contact.js';
import { register as registerImport } from './commands/import.js';
import { register as registerMigrate } from './commands/migrate.js';
import { register as registerParse } from './commands/parse.js';
import { register as registerPrune } from './commands/prune.js';
import { register as registerReplay } from './commands/replay.js';
import { register as registerReport } from './commands/report.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerSuppression } from './commands/suppression.js';
import { register as registerVerp } from './commands/verp.js';

/** The `rebond` command line. Each command lives in its own module under commands/. */
export function buildProgram(): Command {
  const program = new Command('rebond')
    .description('SMTP bounce receiver: VERP identification, hard/soft rules, suppression list')
    .option('-c, --config <file>', 'JSON config file merged over config/default.json (or REBOND_CONFIG)')
    .option('--dev', 'development mode: a missing or weak VERP secret is replaced by a built-in one, loudly')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [registerServe, registerVerp, registerMigrate, registerCheck, registerReport, registerContact, registerSuppression, registerImport, registerReplay, registerPrune, registerParse]) register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    // The reader of our output went away (`rebond suppression export | head`): stop quietly.
    if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') return typeof process.exitCode === 'number' ? process.exitCode : 0;
    if (err instanceof CliError) {
      process.stderr.write(`rebond: ${err.message}\n`);
      return err.exitCode;
    }
    // A database error: its code and the database's words, never the statement and its values.
    const code = errorCode(err);
    process.stderr.write(code ? `rebond: ${errorText(err)} (${code})\n` : `rebond: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
