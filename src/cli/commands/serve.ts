import type { Command } from 'commander';
import { ConfigError, devProblem, httpProblems, type Config } from '../../config.js';
import { CliError, configFrom } from '../context.js';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * `rebond serve`: runs the receiver. SIGTERM or SIGINT stops it gracefully (exit status 0); a
 * second one while stopping exits at once (status 1: whatever was not acknowledged is retried
 * by its sender). SIGHUP reloads the configuration file and environment.
 */
export function register(program: Command): void {
  program
    .command('serve')
    .description('run the SMTP bounce receiver until SIGTERM or SIGINT; SIGHUP reloads the configuration')
    .action(async (_opts, command: Command) => {
      const config = configFrom(command);
      // Development mode only on loopback: its VERP secret and HTTP token are public.
      const dev = devProblem(config);
      if (dev) throw new CliError(dev, 2);
      // Refused before anything is opened: the HTTP server needs a token.
      const problems = httpProblems(config);
      if (problems.length > 0) throw new CliError(new ConfigError(problems).message, 2);
      // Signals are caught from here on, by one listener that stays until the end (removing a
      // signal's last listener restores its default action for a moment). One that arrives while
      // the receiver is still starting (it listens before it has registered itself in the
      // database) is acted on once it has started, instead of killing it and cutting off a
      // session that had already begun.
      const early: NodeJS.Signals[] = [];
      let onSignal = (signal: NodeJS.Signals): void => void early.push(signal);
      const listener = (signal: NodeJS.Signals) => onSignal(signal);
      for (const signal of SIGNALS) process.on(signal, listener);
      try {
        await run(command, config, early, (handler) => (onSignal = handler));
      } finally {
        for (const signal of SIGNALS) process.off(signal, listener);
      }
    });
}

/** Starts the receiver, then serves until a stop signal; `listen` installs the signal handler. */
async function run(command: Command, config: Config, early: readonly NodeJS.Signals[], listen: (handler: (signal: NodeJS.Signals) => void) => void): Promise<void> {
  const { createApp, startServer, SchemaBehindError } = await import('../../app.js');
  const app = await createApp(config).catch((err: unknown) => {
    throw err instanceof SchemaBehindError ? new CliError(err.message, 1) : err;
  });
  const running = await startServer(app).catch(async (err: unknown) => {
    await app.close();
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err instanceof Error && /cannot listen/.test(err.message) ? new CliError(err.message, 1) : err;
  });

  const reload = () => {
    let next;
    try {
      next = configFrom(command);
    } catch (err) {
      app.logger.log('error', 'CONFIG_RELOAD_FAILED', 'configuration not reloaded, the running one is kept', { error: (err as Error).message });
      return;
    }
    try {
      running.reload(next);
    } catch (err) {
      app.logger.log('error', 'CONFIG_RELOAD_FAILED', 'configuration not reloaded, the running one is kept', { error: (err as Error).message });
    }
  };

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        app.logger.log('warn', 'STOP_FORCED', `${signal} received again: exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      app.logger.log('info', 'STOPPING', `${signal} received: no new connections, finishing transactions in flight`, {
        timeoutMs: app.config.smtp.shutdownTimeoutMs,
      });
      running.stop().then(resolve, (err: unknown) => {
        app.logger.log('error', 'STOP_FAILED', 'error while stopping', { error: (err as Error).message });
        process.exitCode = 1;
        resolve();
      });
    };
    const handle = (signal: NodeJS.Signals) => (signal === 'SIGHUP' ? reload() : stop(signal));
    listen(handle);
    for (const signal of early) handle(signal);
  });
}
