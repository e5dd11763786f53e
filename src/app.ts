import type { AddressInfo } from 'node:net';
import { redactUrl, type Config } from './config.js';
import type { VerpSettings } from './domain/verp.js';
import { createLogger, type Logger } from './logger.js';
import type { ParseOptions } from './dsn/parse.js';
import { ContactService } from './services/contacts.js';
import { Importer } from './services/importer.js';
import { Ingestor } from './services/ingest.js';
import { SendPipeline } from './services/pipeline.js';
import { Replayer } from './services/replay.js';
import { ReportService } from './services/reports.js';
import { RawRetention } from './services/retention.js';
import { SuppressionService } from './services/suppression.js';
import { createSmtpListener, type SmtpListener } from './smtp/server.js';
import { migrate, openDatabase, type Database } from './storage/db.js';
import { knexContactStore, knexSuppressionStore } from './storage/knex-contacts.js';
import { knexMessageStore } from './storage/knex-messages.js';
import { knexReportStore } from './storage/knex-reports.js';
import { unitOfWork } from './storage/knex-repositories.js';
import { knexSendStore } from './storage/knex-sends.js';
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
  /** Campaign, automation and domain reports (plain data). */
  readonly reports: ReportService;
  /** Contact look-up and the operator's unbounce. */
  readonly contacts: ContactService;
  readonly suppressions: SuppressionService;
  /** What the send pipeline does: return paths, sends, deliveries, registrations. */
  readonly pipeline: SendPipeline;
  readonly replayer: Replayer;
  readonly retention: RawRetention;
  readonly importer: Importer;
  close(): Promise<void>;
}

export interface AppOptions {
  readonly logger?: Logger;
  /** Run pending migrations at start (default true). */
  readonly migrate?: boolean;
  /** Parser options for ingest, import and replay (the built-in decoder chain by default). */
  readonly parse?: Omit<ParseOptions, 'mailFrom'>;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger({ level: config.log.level, format: config.log.format });
  if (config.devSecret) {
    logger.log('warn', 'CONFIG_DEV_SECRET', '*** DEVELOPMENT MODE: using the built-in VERP secret. Anybody can forge bounces. Set REBOND_VERP_SECRET before production. ***');
  }
  const db = openDatabase(config.database);
  try {
    if (options.migrate !== false) {
      const ran = await migrate(db);
      if (ran.length > 0) logger.log('info', 'DB_MIGRATED', `applied ${ran.length} migration(s)`, { migrations: ran });
    }
  } catch (err) {
    await db.close();
    throw err;
  }
  logger.log('info', 'DB_OPEN', 'database ready', { url: redactUrl(config.database.url), dialect: db.dialect });
  const uow = unitOfWork(db);
  const verp: VerpSettings = config.verp;
  const softThreshold = config.rules.softThreshold;
  const ingestor = new Ingestor({ uow, verp, softThreshold, logger, rawMaxBytes: config.storage.rawMaxBytes, ...(options.parse ? { parse: options.parse } : {}) });
  const suppressions = new SuppressionService(knexSuppressionStore(db));
  const messages = knexMessageStore(db);
  const retention = new RawRetention(messages, config.storage, logger);
  return {
    config,
    logger,
    db,
    uow,
    verp,
    ingestor,
    reports: new ReportService(knexReportStore(db)),
    contacts: new ContactService({ uow, contacts: knexContactStore(db), suppressions: knexSuppressionStore(db), softThreshold, logger }),
    suppressions,
    pipeline: new SendPipeline({ verp, uow, sends: knexSendStore(db), suppressions, softThreshold, logger }),
    replayer: new Replayer({ messages, verp, softThreshold, logger, ...(options.parse ? { parse: options.parse } : {}) }),
    retention,
    importer: new Importer({ ingestor, verp, maxMessageBytes: config.smtp.maxMessageBytes, maxRecipients: config.smtp.maxRecipients, logger }),
    async close() {
      await retention.stop();
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
  app.retention.start();
  let stopping: Promise<void> | null = null;
  return {
    app,
    smtp,
    address,
    stop() {
      stopping ??= (async () => {
        await smtp.close();
        await app.close();
        app.logger.log('info', 'STOPPED', 'receiver stopped');
      })();
      return stopping;
    },
  };
}
