import type { AddressInfo } from 'node:net';
import { ConfigError, devProblem, httpProblems, redactUrl, type Config } from './config.js';
import type { VerpSettings } from './domain/verp.js';
import { createLogger, type Logger } from './logger.js';
import { PromMetrics } from './metrics.js';
import { HealthService } from './services/health.js';
import { HeapTrim } from './services/heap-trim.js';
import { knexHealthStore } from './storage/knex-health.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import type { ParseOptions } from './dsn/parse.js';
import { ContactService } from './services/contacts.js';
import { Importer } from './services/importer.js';
import { Ingestor } from './services/ingest.js';
import { INLINE_PARSE_MAX_BYTES, ParsePool, type WorkerHooks } from './services/parse-pool.js';
import { SendPipeline } from './services/pipeline.js';
import { Replayer } from './services/replay.js';
import { ReportService } from './services/reports.js';
import { RawRetention } from './services/retention.js';
import { SuppressionService } from './services/suppression.js';
import { createSmtpListener, type SmtpListener } from './smtp/server.js';
import { ReceiverRegistry } from './services/fleet.js';
import { expectedSchema, migrate, openDatabase, schemaStatus, type Database } from './storage/db.js';
import { knexContactStore, knexSuppressionStore } from './storage/knex-contacts.js';
import { knexMessageStore } from './storage/knex-messages.js';
import { knexReportStore } from './storage/knex-reports.js';
import { knexReceiverStore } from './storage/receivers.js';
import { unitOfWork } from './storage/knex-repositories.js';
import { knexSendStore } from './storage/knex-sends.js';
import type { UnitOfWork } from './storage/repositories.js';

/**
 * The composition root: config -> logger -> database -> repositories -> services. Nothing
 * else constructs these; `close()` releases them in reverse order.
 */
export interface App {
  /** The configuration in force (changes on `reload`). */
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
  /** What `/healthz` reports: the database answers. */
  readonly health: HealthService;
  /** The counters of `/metrics`. */
  readonly metrics: PromMetrics;
  /**
   * Takes what can change while running (see RELOADABLE) from a new configuration, except the
   * log level, which the caller applies to `logger`; the other changed settings are listed in
   * `restartNeeded` and keep their current value.
   */
  reload(next: Config): ReloadResult;
  close(): Promise<void>;
}

export interface ReloadResult {
  /** Settings (dotted paths) that changed and were applied. */
  readonly applied: readonly string[];
  /** Settings that changed but only take effect after a restart. */
  readonly restartNeeded: readonly string[];
}

/** Settings that take effect on reload (SIGHUP). Everything else needs a restart. */
export const RELOADABLE: readonly string[] = ['smtp.', 'verp.', 'rules.', 'http.', 'log.level'];
const RESTART_ONLY: readonly string[] = ['smtp.host', 'smtp.port', 'http.enabled', 'http.host', 'http.port'];

export interface AppOptions {
  readonly logger?: Logger;
  /** Run pending migrations at start (default: the `database.migrate` setting). */
  readonly migrate?: boolean;
  /** Parser options for ingest, import and replay (the built-in decoder chain by default). */
  readonly parse?: Omit<ParseOptions, 'mailFrom'>;
  /** Failures the parse threads produce on demand (tests only). */
  readonly parseHooks?: WorkerHooks;
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
  const metrics = new PromMetrics();
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
  let current = config;
  const parse = options.parse ? { parse: options.parse } : {};
  // Worker threads parse with the built-in decoders only: a chain given here stays in-thread.
  // Without parse threads, the time limit still holds: messages over INLINE_PARSE_MAX_BYTES are
  // parsed in one thread of their own (smaller ones parse in a few milliseconds at worst).
  const { parseThreads, parseTimeoutMs } = config.ingest;
  const parsePool =
    (parseThreads > 0 || parseTimeoutMs > 0) && !options.parse
      ? new ParsePool({ threads: Math.max(1, parseThreads), logger, timeoutMs: parseTimeoutMs, inlineMaxBytes: parseThreads > 0 ? 0 : INLINE_PARSE_MAX_BYTES, hooks: options.parseHooks })
      : null;
  const ingestor = new Ingestor({ uow, verp: config.verp, softThreshold: config.rules.softThreshold, logger, rawMaxBytes: config.storage.rawMaxBytes, maxReportRecipients: config.ingest.maxReportRecipients, metrics, parsePool, ...parse });
  const suppressions = new SuppressionService(knexSuppressionStore(db));
  const messages = knexMessageStore(db);
  const retention = new RawRetention(messages, config.storage, logger);
  // The services below read these settings at each call, so that a reload reaches them too.
  const pipeline = new SendPipeline({
    get verp() {
      return current.verp;
    },
    get softThreshold() {
      return current.rules.softThreshold;
    },
    uow,
    sends: knexSendStore(db),
    suppressions,
    logger,
  });
  const contacts = new ContactService({
    get softThreshold() {
      return current.rules.softThreshold;
    },
    uow,
    contacts: knexContactStore(db),
    suppressions: knexSuppressionStore(db),
    logger,
    metrics,
  });
  const replayer = new Replayer({
    get verp() {
      return current.verp;
    },
    get softThreshold() {
      return current.rules.softThreshold;
    },
    messages,
    maxReportRecipients: config.ingest.maxReportRecipients,
    logger,
    ...parse,
  });
  const importer = new Importer({
    get verp() {
      return current.verp;
    },
    get maxMessageBytes() {
      return current.smtp.maxMessageBytes;
    },
    get maxRecipients() {
      return current.smtp.maxRecipients;
    },
    ingestor,
    logger,
  });
  return {
    get config() {
      return current;
    },
    logger,
    db,
    uow,
    get verp(): VerpSettings {
      return current.verp;
    },
    ingestor,
    reports: new ReportService(knexReportStore(db)),
    contacts,
    suppressions,
    pipeline,
    replayer,
    retention,
    importer,
    health: new HealthService(knexHealthStore(db), () => ingestor.healthy),
    metrics,
    reload(next) {
      const result = diffConfig(current, next);
      current = mergeReloadable(current, next, result);
      ingestor.update({ verp: current.verp, softThreshold: current.rules.softThreshold });
      return result;
    },
    async close() {
      await retention.stop();
      // In-flight messages finish (parsed, committed) before the parse workers stop.
      await ingestor.close();
      await db.close();
    },
  };
}

export interface RunningServer {
  readonly app: App;
  readonly smtp: SmtpListener;
  readonly address: AddressInfo;
  /** The reports pages, JSON API and metrics; null when `http.enabled` is false. */
  readonly http: HttpServer | null;
  /** Where the HTTP server listens (null when disabled). */
  readonly httpAddress: AddressInfo | null;
  /**
   * Stops accepting connections, closes idle sessions, lets transactions in flight finish
   * (for at most `smtp.shutdownTimeoutMs`), waits for their commits, closes the database.
   */
  stop(): Promise<void>;
  /** Applies a new configuration to the running receiver (SIGHUP); logs what changed. */
  reload(next: Config): ReloadResult;
}

/**
 * Starts the SMTP listener and, unless `http.enabled` is false, the HTTP server on its own port.
 * Throws ConfigError (nothing started) when the HTTP server has no token.
 */
export async function startServer(app: App): Promise<RunningServer> {
  const dev = devProblem(app.config);
  const problems = [...(dev ? [dev] : []), ...httpProblems(app.config)];
  if (problems.length > 0) throw new ConfigError(problems);
  if (app.config.http.enabled && app.config.devHttpToken) {
    app.logger.log('warn', 'CONFIG_DEV_HTTP_TOKEN', '*** DEVELOPMENT MODE: the HTTP pages and API accept the built-in development token (see README). Set REBOND_HTTP_TOKENS before production. ***');
  }
  const smtp = createSmtpListener(app.config.smtp, app.verp, app.ingestor, app.logger, app.metrics);
  app.metrics.setSources({ openSessions: () => smtp.sessions, contacts: () => app.health.contactCounts() });
  const address = await smtp.listen();
  let http: HttpServer | null = null;
  let httpAddress: AddressInfo | null = null;
  if (app.config.http.enabled) {
    try {
      http = await createHttpServer(app);
      httpAddress = await http.listen();
    } catch (err) {
      await smtp.close();
      throw err;
    }
  }
  app.retention.start();
  const trim = new HeapTrim({ quietMs: app.config.ingest.idleGcSeconds * 1000, handled: () => app.ingestor.handled, logger: app.logger.child('memory') });
  trim.start();
  // Recorded in the database so that `rebond check` can compare the receivers sharing it.
  const registry = new ReceiverRegistry(knexReceiverStore(app.db), app.config, address, expectedSchema(), app.logger);
  await registry.start();
  let stopping: Promise<void> | null = null;
  return {
    app,
    smtp,
    address,
    http,
    httpAddress,
    stop() {
      stopping ??= (async () => {
        const started = Date.now();
        // In-flight HTTP requests finish (the database is closed only after both).
        await Promise.all([smtp.close(), http?.close()]);
        trim.stop();
        await registry.stop();
        await app.close();
        app.logger.log('info', 'STOPPED', 'receiver stopped', { ms: Date.now() - started });
      })();
      return stopping;
    },
    reload(next) {
      // Checked first: a running HTTP server keeps needing a token.
      if (http) {
        const problems = httpProblems({ ...next, http: { ...next.http, enabled: true, host: app.config.http.host } });
        if (problems.length > 0) throw new ConfigError(problems);
      }
      // Checked first: an unreadable TLS file leaves everything as it was.
      smtp.update({ ...next.smtp, host: app.config.smtp.host, port: app.config.smtp.port }, next.mode === app.config.mode ? next.verp : app.config.verp);
      const result = app.reload(next);
      void registry.update(app.config);
      app.logger.log('info', 'CONFIG_RELOADED', result.applied.length > 0 ? `configuration reloaded: ${result.applied.join(', ')}` : 'configuration reloaded: nothing changed', { applied: result.applied });
      if (result.restartNeeded.length > 0) {
        app.logger.log('warn', 'CONFIG_RESTART_NEEDED', `changed settings that need a restart: ${result.restartNeeded.join(', ')}`, { settings: result.restartNeeded });
      }
      // Last, so that the lines above are written whatever the new level.
      app.logger.setLevel?.(app.config.log.level);
      return result;
    },
  };
}

function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

function isReloadable(path: string): boolean {
  if (RESTART_ONLY.some((p) => path === p)) return false;
  return RELOADABLE.some((p) => (p.endsWith('.') ? path.startsWith(p) : path === p));
}

/** Which settings differ, split into those a reload applies and those that need a restart. */
export function diffConfig(current: Config, next: Config): ReloadResult {
  const a = flatten(current);
  const b = flatten(next);
  const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k) && k !== 'devSecret' && k !== 'devHttpToken').sort();
  // A change of mode changes which VERP secret is allowed: it waits for a restart, and so does the secret.
  const modeChanged = changed.includes('mode');
  const applied = changed.filter((k) => isReloadable(k) && !(modeChanged && k.startsWith('verp.')));
  return { applied, restartNeeded: changed.filter((k) => !applied.includes(k)).map((k) => (k.startsWith('verp.secret') ? 'verp.secret' : k)) };
}

function mergeReloadable(current: Config, next: Config, diff: ReloadResult): Config {
  const verpApplies = diff.applied.some((k) => k.startsWith('verp.'));
  return Object.freeze({
    ...current,
    smtp: Object.freeze({ ...next.smtp, host: current.smtp.host, port: current.smtp.port }),
    verp: verpApplies ? next.verp : current.verp,
    rules: next.rules,
    // Tokens, cookie and metrics settings apply at once; the HTTP address needs a restart.
    http: Object.freeze({ ...next.http, enabled: current.http.enabled, host: current.http.host, port: current.http.port }),
    devHttpToken: next.devHttpToken,
    log: Object.freeze({ ...current.log, level: next.log.level }),
  });
}
