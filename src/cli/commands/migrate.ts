import type { Command } from 'commander';
import { redactUrl } from '../../config.js';
import { configFrom, out } from '../context.js';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations and exit (serve also does this at start)')
    .action(async (_opts, command: Command) => {
      const config = configFrom(command);
      const { migrate, openDatabase } = await import('../../storage/db.js');
      const { createLogger } = await import('../../logger.js');
      const logger = createLogger({ level: config.log.level, format: config.log.format });
      const db = openDatabase({ ...config.database, logger });
      try {
        const ran = await migrate(db, { logger });
        out(ran.length > 0 ? `applied: ${ran.join(', ')}` : `up to date (${redactUrl(config.database.url)})`);
      } finally {
        await db.close();
      }
    });
}
