import type { AddressInfo } from 'node:net';
import { redactUrl, type Config } from './config.js';
import type { VerpSettings } from './domain/verp.js';
import { createLogger, type Logger } from './logger.js';
import { Ingestor } from './services/ingest.js';
import { createSmtpListener, type SmtpListener } from './smtp/server.js';
import { ReceiverRegistry } from './services/fleet.js';
import { expectedSchema, migrate, openDatabase, schemaStatus, type Database } from './storage/db.js';
import { knexReceiverStore } from './storage/receivers.js';
import { unitOfWork } from './storage/knex-repositories.js';
import type { UnitOfWork } from './storage/repositories.js';

/**
 * The composition root: config -> logger -> database -> repositories -> services. Nothing
 * else constructs these; `close()` releases them in reverse order.
 */
export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Database;
  readonly uow: UnitOfWork;
  readonly verp: VerpSettings;
  readonly ingestor: Ingestor;
  close(): Promise<void>;
}

export interface AppOptions {
  readonly logger?: Logger;
  /** Run pending migrations at start (default: the `database.migrate` setting). */
  readonly migrate?: boolean;
}

/**
 * Refuses to run on a schema older than this version expects (migrations not applied); runs,
 * with a warning, on a newer one (another host was upgraded first: migrations only add).
 */
async function checkSchema(db: Database, logger: Logger): Promise<void> {
  const status = await schemaStatus(db);
  if (status.pending.length > 0) {
    throw new SchemaBehindError(status.pending);
  }
  if (status.unknown.length > 0) {
    logger.log('warn', 'DB_SCHEMA_NEWER', 'the database has migrations this version does not know (a newer version migrated it); running anyway', { unknown: status.unknown });
  }
}

export class SchemaBehindError extends Error {
  constructor(readonly pending: readonly string[]) {
    super(`the database schema is behind this version (pending: ${pending.join(', ')}): run \`rebond migrate\` or set database.migrate to true`);
    this.name = 'SchemaBehindError';
  }
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger({ level: config.log.level, format: config.log.format });
  if (config.devSecret) {
    logger.log('warn', 'CONFIG_DEV_SECRET', '*** DEVELOPMENT MODE: using the built-in VERP secret. Anybody can forge bounces. Set REBOND_VERP_SECRET before production. ***');
  }
  const db = openDatabase({ ...config.database, logger });
  try {
    if (options.migrate ?? config.database.migrate) {
      const ran = await migrate(db, { logger });
      if (ran.length > 0) logger.log('info', 'DB_MIGRATED', `applied ${ran.length} migration(s)`, { migrations: ran });
    }
    await checkSchema(db, logger);
  } catch (err) {
    await db.close();
    throw err;
  }
  logger.log('info', 'DB_OPEN', 'database ready', { url: redactUrl(config.database.url), dialect: db.dialect });
  const uow = unitOfWork(db, { logger });
  const verp: VerpSettings = config.verp;
  const ingestor = new Ingestor({ uow, verp, softThreshold: config.rules.softThreshold, logger });
  return {
    config,
    logger,
    db,
    uow,
    verp,
    ingestor,
    async close() {
      await ingestor.drain();
      await db.close();
    },
  };
}

export interface RunningServer {
  readonly app: App;
  readonly smtp: SmtpListener;
  readonly address: AddressInfo;
  /** Stops listening, lets transactions in flight finish, closes the database. */
  stop(): Promise<void>;
}

export async function startServer(app: App): Promise<RunningServer> {
  const smtp = createSmtpListener(app.config.smtp, app.verp, app.ingestor, app.logger);
  const address = await smtp.listen();
  // Recorded in the database so that `rebond check` can compare the receivers sharing it.
  const registry = new ReceiverRegistry(knexReceiverStore(app.db), app.config, address, expectedSchema(), app.logger);
  await registry.start();
  let stopping: Promise<void> | null = null;
  return {
    app,
    smtp,
    address,
    stop() {
      stopping ??= (async () => {
        await smtp.close();
        await registry.stop();
        await app.close();
        app.logger.log('info', 'STOPPED', 'receiver stopped');
      })();
      return stopping;
    },
  };
}
