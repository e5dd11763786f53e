import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { checkPrefix } from './domain/verp.js';

/**
 * Configuration: `config/default.json`, then an optional file (`--config` or REBOND_CONFIG),
 * then environment variables. Validated once, frozen, and refused with one clear line per bad
 * value. Reading happens only when `loadConfig` is called, never on import.
 */

const DEV_SECRET = 'rebond-development-secret-do-not-use-in-production';
/** The HTTP token of development mode (documented in the README): never for a real server. */
export const DEV_HTTP_TOKEN = 'rebond-development-token';
const MIN_SECRET_LENGTH = 32;
const PLACEHOLDER = /change.?me|changeit|replace.?me|your.?secret|^secret$|example|placeholder|^x+$|^(.)\1+$|password|todo|fixme|do-not-use/i;

const domainName = z
  .string()
  .transform((d) => d.trim().toLowerCase().replace(/\.$/, ''))
  .refine((d) => /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/.test(d) || d === 'localhost', {
    message: 'must be a domain name such as bounces.example.com',
  });

const schema = z
  .object({
    mode: z.enum(['production', 'development']).default('production'),
    smtp: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(2525),
        hostname: z.string().min(1).default(hostname()),
        banner: z.string().default('rebond bounce receiver'),
        maxMessageBytes: z.number().int().min(1024).default(10 * 1024 * 1024),
        maxHeaderBytes: z.number().int().min(1024).default(256 * 1024),
        maxBufferedBytes: z.number().int().min(64 * 1024).default(256 * 1024 * 1024),
        maxLineLength: z.number().int().min(512).max(1024 * 1024).default(2048),
        maxRecipients: z.number().int().min(1).max(1000).default(10),
        maxClients: z.number().int().min(1).default(500),
        // Connections the kernel holds for the listener to accept (capped by net.core.somaxconn).
        listenBacklog: z.number().int().min(1).max(65_535).default(4096),
        maxConnectionsPerIp: z.number().int().min(1).default(20),
        // Connections from one network: an IPv4 /networkPrefixV4 or an IPv6 /networkPrefixV6.
        maxConnectionsPerNetwork: z.number().int().min(1).default(50),
        networkPrefixV4: z.number().int().min(8).max(32).default(24),
        networkPrefixV6: z.number().int().min(16).max(128).default(64),
        maxCommandsBeforeMail: z.number().int().min(1).default(20),
        maxBadCommands: z.number().int().min(1).default(10),
        maxRefusedRcptPerIp: z.number().int().min(1).default(50),
        refusedRcptWindowMs: z.number().int().min(1000).default(5 * 60_000),
        socketTimeoutMs: z.number().int().min(1000).default(60_000),
        maxSessionMs: z.number().int().min(1000).default(10 * 60_000),
        shutdownTimeoutMs: z.number().int().min(0).default(30_000),
        greetingDelayMs: z.number().int().min(0).max(30_000).default(0),
        tls: z.object({ key: z.string().min(1), cert: z.string().min(1) }).optional(),
      })
      .strict()
      .prefault({}),
    verp: z
      .object({
        prefix: z.string().default('bounce'),
        domains: z.array(domainName).min(1, 'needs at least one bounce domain').default(['bounces.localhost']),
        secret: z.string().optional(),
        previousSecrets: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        url: z.string().min(1).default('sqlite:data/rebond.sqlite'),
        poolMax: z.number().int().min(1).max(100).default(10),
        acquireTimeoutMs: z.number().int().min(100).default(5000),
        statementTimeoutMs: z.number().int().min(0).default(15_000),
        busyTimeoutMs: z.number().int().min(0).default(5000),
        migrate: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    rules: z
      .object({
        softThreshold: z.number().int().min(1).max(100).default(3),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        // Worker threads that parse incoming messages (0: parse on the main thread).
        parseThreads: z.number().int().min(0).max(64).default(0),
        // Longest the parse of one message may take (in a parse thread; with no parse threads,
        // messages over 16 KiB are parsed in one thread of their own); a message over it is
        // stored raw as parse_timeout and answered 250 (0: no limit, parse on the main thread).
        parseTimeoutMs: z.number().int().min(0).max(600_000).default(10_000),
        // After messages came in and then none for this long, one full garbage collection
        // returns the memory the burst made the heap grow to (0: leave it to V8).
        idleGcSeconds: z.number().int().min(0).max(86_400).default(10),
        // Records (rows) one report may write; the recipients past it are noted on the message.
        maxReportRecipients: z.number().int().min(1).max(1_000_000).default(1000),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        // Raw bytes kept per message; a larger message keeps its first rawMaxBytes bytes.
        rawMaxBytes: z.number().int().min(4096).default(1024 * 1024),
        // Raw bytes older than this are set to NULL (0 keeps them forever).
        rawRetentionDays: z.number().int().min(0).default(180),
        // How often `serve` prunes (0: never automatically; `rebond prune` still works).
        pruneIntervalMinutes: z.number().int().min(0).default(60),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        // The reports pages, the JSON API, /metrics and /healthz, on a port of their own.
        enabled: z.boolean().default(true),
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8025),
        // Bearer tokens for the API and the pages (several: rotation); required by `serve`.
        tokens: z.array(z.string()).default([]),
        // A token that opens /metrics only (for a Prometheus scraper).
        metricsToken: z.string().optional(),
        // /metrics without any token (on a private interface).
        metricsPublic: z.boolean().default(false),
        // How long a sign-in on the pages lasts.
        sessionHours: z.number().int().min(1).max(24 * 30).default(12),
        // Mark the session cookie Secure (behind an HTTPS proxy).
        secureCookies: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
        format: z.enum(['json', 'pretty', 'auto']).default('auto'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

type Parsed = z.infer<typeof schema>;

export type Config = Readonly<
  Omit<Parsed, 'verp'> & {
    verp: Readonly<Omit<Parsed['verp'], 'secret'> & { secret: string }>;
    /** True when the VERP secret is the built-in development one. */
    devSecret: boolean;
    /** True when the HTTP token is the built-in development one. */
    devHttpToken: boolean;
  }
>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type EnvParser = (value: string) => unknown;
const int: EnvParser = (v) => (/^-?\d+$/.test(v.trim()) ? Number(v) : v);
const list: EnvParser = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
const text: EnvParser = (v) => v;
const bool: EnvParser = (v) => (/^(true|1|yes|on)$/i.test(v.trim()) ? true : /^(false|0|no|off)$/i.test(v.trim()) ? false : v);

/** Environment variables and the setting each one overrides. */
export const ENVIRONMENT: ReadonlyArray<readonly [string, string, EnvParser]> = [
  ['REBOND_MODE', 'mode', text],
  ['REBOND_SMTP_HOST', 'smtp.host', text],
  ['REBOND_SMTP_PORT', 'smtp.port', int],
  ['REBOND_SMTP_HOSTNAME', 'smtp.hostname', text],
  ['REBOND_SMTP_MAX_MESSAGE_BYTES', 'smtp.maxMessageBytes', int],
  ['REBOND_SMTP_MAX_HEADER_BYTES', 'smtp.maxHeaderBytes', int],
  ['REBOND_SMTP_MAX_BUFFERED_BYTES', 'smtp.maxBufferedBytes', int],
  ['REBOND_SMTP_MAX_LINE_LENGTH', 'smtp.maxLineLength', int],
  ['REBOND_SMTP_MAX_RECIPIENTS', 'smtp.maxRecipients', int],
  ['REBOND_SMTP_MAX_CLIENTS', 'smtp.maxClients', int],
  ['REBOND_SMTP_LISTEN_BACKLOG', 'smtp.listenBacklog', int],
  ['REBOND_SMTP_MAX_CONNECTIONS_PER_IP', 'smtp.maxConnectionsPerIp', int],
  ['REBOND_SMTP_MAX_CONNECTIONS_PER_NETWORK', 'smtp.maxConnectionsPerNetwork', int],
  ['REBOND_SMTP_NETWORK_PREFIX_V4', 'smtp.networkPrefixV4', int],
  ['REBOND_SMTP_NETWORK_PREFIX_V6', 'smtp.networkPrefixV6', int],
  ['REBOND_SMTP_MAX_COMMANDS_BEFORE_MAIL', 'smtp.maxCommandsBeforeMail', int],
  ['REBOND_SMTP_MAX_BAD_COMMANDS', 'smtp.maxBadCommands', int],
  ['REBOND_SMTP_MAX_REFUSED_RCPT_PER_IP', 'smtp.maxRefusedRcptPerIp', int],
  ['REBOND_SMTP_REFUSED_RCPT_WINDOW_MS', 'smtp.refusedRcptWindowMs', int],
  ['REBOND_SMTP_SOCKET_TIMEOUT_MS', 'smtp.socketTimeoutMs', int],
  ['REBOND_SMTP_MAX_SESSION_MS', 'smtp.maxSessionMs', int],
  ['REBOND_SMTP_SHUTDOWN_TIMEOUT_MS', 'smtp.shutdownTimeoutMs', int],
  ['REBOND_SMTP_GREETING_DELAY_MS', 'smtp.greetingDelayMs', int],
  ['REBOND_SMTP_TLS_KEY', 'smtp.tls.key', text],
  ['REBOND_SMTP_TLS_CERT', 'smtp.tls.cert', text],
  ['REBOND_VERP_PREFIX', 'verp.prefix', text],
  ['REBOND_VERP_DOMAINS', 'verp.domains', list],
  ['REBOND_VERP_SECRET', 'verp.secret', text],
  ['REBOND_VERP_PREVIOUS_SECRETS', 'verp.previousSecrets', list],
  ['REBOND_DATABASE_URL', 'database.url', text],
  ['REBOND_DATABASE_POOL_MAX', 'database.poolMax', int],
  ['REBOND_DATABASE_ACQUIRE_TIMEOUT_MS', 'database.acquireTimeoutMs', int],
  ['REBOND_DATABASE_STATEMENT_TIMEOUT_MS', 'database.statementTimeoutMs', int],
  ['REBOND_DATABASE_BUSY_TIMEOUT_MS', 'database.busyTimeoutMs', int],
  ['REBOND_DATABASE_MIGRATE', 'database.migrate', bool],
  ['REBOND_RULES_SOFT_THRESHOLD', 'rules.softThreshold', int],
  ['REBOND_INGEST_PARSE_THREADS', 'ingest.parseThreads', int],
  ['REBOND_INGEST_PARSE_TIMEOUT_MS', 'ingest.parseTimeoutMs', int],
  ['REBOND_INGEST_IDLE_GC_SECONDS', 'ingest.idleGcSeconds', int],
  ['REBOND_INGEST_MAX_REPORT_RECIPIENTS', 'ingest.maxReportRecipients', int],
  ['REBOND_STORAGE_RAW_MAX_BYTES', 'storage.rawMaxBytes', int],
  ['REBOND_STORAGE_RAW_RETENTION_DAYS', 'storage.rawRetentionDays', int],
  ['REBOND_STORAGE_PRUNE_INTERVAL_MINUTES', 'storage.pruneIntervalMinutes', int],
  ['REBOND_HTTP_ENABLED', 'http.enabled', bool],
  ['REBOND_HTTP_HOST', 'http.host', text],
  ['REBOND_HTTP_PORT', 'http.port', int],
  ['REBOND_HTTP_TOKENS', 'http.tokens', list],
  ['REBOND_HTTP_METRICS_TOKEN', 'http.metricsToken', text],
  ['REBOND_HTTP_METRICS_PUBLIC', 'http.metricsPublic', bool],
  ['REBOND_HTTP_SESSION_HOURS', 'http.sessionHours', int],
  ['REBOND_HTTP_SECURE_COOKIES', 'http.secureCookies', bool],
  ['REBOND_LOG_LEVEL', 'log.level', text],
  ['REBOND_LOG_FORMAT', 'log.format', text],
];

export interface LoadOptions {
  /** A JSON file merged over the defaults. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Explicit development mode (`--dev`): a weak or missing secret is replaced, with a warning. */
  readonly dev?: boolean;
  /** Settings merged last (used by tests and the library). */
  readonly overrides?: Record<string, unknown>;
  /** Skip config/default.json (tests). */
  readonly skipDefaultsFile?: boolean;
}

export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  let merged: Record<string, unknown> = {};

  const defaultsFile = resolve(packageRoot(), 'config', 'default.json');
  if (!options.skipDefaultsFile && existsSync(defaultsFile)) merged = deepMerge(merged, readJson(defaultsFile, problems));
  const file = options.file ?? env['REBOND_CONFIG'];
  if (file) {
    if (!existsSync(file)) problems.push(`config file ${file} does not exist`);
    else merged = deepMerge(merged, readJson(file, problems));
  }
  for (const [name, path, parse] of ENVIRONMENT) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(merged, path, parse(value));
  }
  if (options.overrides) merged = deepMerge(merged, options.overrides);
  if (options.dev) merged['mode'] = 'development';
  delete merged['$comment'];

  const result = schema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const parsed = result.data;

  try {
    checkPrefix(parsed.verp.prefix);
  } catch (err) {
    problems.push(`verp.prefix: ${(err as Error).message}`);
  }
  const weakness = secretWeakness(parsed.verp.secret);
  let secret = parsed.verp.secret ?? '';
  let devSecret = false;
  if (weakness) {
    if (parsed.mode === 'development') {
      secret = DEV_SECRET;
      devSecret = true;
    } else {
      problems.push(`verp.secret: ${weakness} (set REBOND_VERP_SECRET to ${MIN_SECRET_LENGTH}+ random characters, e.g. \`openssl rand -hex 32\`; or run in development mode with --dev)`);
    }
  }
  parsed.verp.previousSecrets.forEach((s, i) => {
    const w = secretWeakness(s);
    if (w) problems.push(`verp.previousSecrets[${i}]: ${w}`);
  });
  const http = { ...parsed.http };
  let devHttpToken = false;
  if (http.tokens.length === 0 && parsed.mode === 'development') {
    http.tokens = [DEV_HTTP_TOKEN];
    devHttpToken = true;
  } else if (parsed.mode === 'production') {
    http.tokens.forEach((t, i) => {
      const w = secretWeakness(t);
      if (w) problems.push(`http.tokens[${i}]: ${w} (\`openssl rand -hex 32\`)`);
    });
    const w = http.metricsToken === undefined ? null : secretWeakness(http.metricsToken);
    if (w) problems.push(`http.metricsToken: ${w}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return deepFreeze({ ...parsed, verp: { ...parsed.verp, secret }, http, devSecret, devHttpToken });
}

/**
 * What `serve` needs of the HTTP settings beyond their syntax: a token when the HTTP server is
 * enabled, and the built-in development token only on a loopback address.
 */
export function httpProblems(config: Config): string[] {
  if (!config.http.enabled) return [];
  if (config.http.tokens.length === 0) {
    return ['http.tokens: the HTTP server needs at least one token (set REBOND_HTTP_TOKENS to 32+ random characters, e.g. `openssl rand -hex 32`), or set http.enabled to false'];
  }
  if (config.devHttpToken && !isLoopback(config.http.host)) {
    return [`http.tokens: the built-in development token is only served on a loopback address, not ${config.http.host}; set REBOND_HTTP_TOKENS`];
  }
  return [];
}

/**
 * What `serve` needs in development mode: every listen address on loopback. Its VERP secret is
 * the built-in one, public in the source (anyone could sign a return path and forge a bounce
 * that suppresses any contact), and its tokens are meant for a developer's machine. One line.
 */
export function devProblem(config: Config): string | null {
  if (config.mode !== 'development') return null;
  const exposed = [['smtp.host', config.smtp.host] as const, ...(config.http.enabled ? [['http.host', config.http.host] as const] : [])].filter(([, host]) => !isLoopback(host));
  if (exposed.length === 0) return null;
  return `development mode listens on loopback addresses only, not ${exposed.map(([name, host]) => `${name} ${host}`).join(' nor ')}: its VERP secret is public; run without --dev (and REBOND_MODE=production) with REBOND_VERP_SECRET and REBOND_HTTP_TOKENS set`;
}

/** A loopback address (127.0.0.0/8, ::1, also IPv4-mapped) or `localhost`. */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  try {
    const parsed = ipaddr.process(host.replace(/^\[(.*)\]$/, '$1'));
    return parsed.range() === 'loopback';
  } catch {
    return false;
  }
}

export function secretWeakness(secret: string | undefined): string | null {
  if (!secret) return 'is missing';
  if (secret.length < MIN_SECRET_LENGTH) return `is too short (${secret.length} characters, at least ${MIN_SECRET_LENGTH} needed)`;
  if (PLACEHOLDER.test(secret)) return 'looks like a placeholder';
  if (new Set(secret).size < 8) return 'has too few distinct characters';
  return null;
}

/**
 * The database URL with any password hidden, for logs and output. Read with the URL parser, as
 * the driver reads it (the user part ends at the last `@`, so a password may hold one); a URL
 * that does not parse loses everything up to its last `@`.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    const at = url.lastIndexOf('@');
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
    return at >= 0 ? `${scheme}***${url.slice(at)}` : url;
  }
}

function readJson(file: string, problems: string[]): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    problems.push(`${file}: must hold a JSON object`);
  } catch (err) {
    problems.push(`${file}: ${(err as Error).message}`);
  }
  return {};
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlain(prev) && isPlain(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
