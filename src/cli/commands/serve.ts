import type { Command } from 'commander';
import { CliError, configFrom } from '../context.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the SMTP bounce receiver until SIGTERM or SIGINT')
    .action(async (_opts, command: Command) => {
      const config = configFrom(command);
      const { createApp, startServer, SchemaBehindError } = await import('../../app.js');
      const app = await createApp(config).catch((err: unknown) => {
        throw err instanceof SchemaBehindError ? new CliError(err.message, 1) : err;
      });
      const running = await startServer(app);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          app.logger.log('info', 'STOPPING', `${signal} received: no new connections, finishing transactions in flight`);
          running.stop().then(resolve, (err: unknown) => {
            app.logger.log('error', 'STOP_FAILED', 'error while stopping', { error: (err as Error).message });
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
