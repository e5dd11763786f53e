import winston from 'winston';

/**
 * Structured logs. Every line carries a `component` and a stable `code` (listed in the README);
 * JSON in production, readable text on a terminal.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** A line's fields. `message` and `level` are winston's own (a `message` field would be appended to the text). */
export type LogFields = Record<string, unknown> & { readonly message?: never; readonly level?: never };

export interface Logger {
  log(level: LogLevel, code: string, message: string, fields?: LogFields): void;
  child(component: string): Logger;
  /** Changes the level of this logger and every child of it (SIGHUP reload); optional for capturing loggers. */
  setLevel?(level: LogLevel): void;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly format?: 'json' | 'pretty' | 'auto';
  /** Where lines go; defaults to standard error. */
  readonly stream?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const pretty = options.format === 'pretty' || (options.format !== 'json' && (stream as { isTTY?: boolean }).isTTY === true);
  const base = winston.createLogger({
    level: options.level ?? 'info',
    format: pretty
      ? winston.format.combine(
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.colorize(),
          winston.format.printf(({ level, message, timestamp, component, code, ...rest }) => {
            const extra = Object.entries(rest)
              .filter(([k]) => typeof k === 'string')
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ');
            return `${String(timestamp)} ${level} [${String(component)}] ${String(code)} ${String(message)}${extra ? ` ${extra}` : ''}`;
          }),
        )
      : winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
  return wrap(base, 'rebond');
}

function wrap(base: winston.Logger, component: string): Logger {
  return {
    log(level, code, message, fields = {}) {
      // winston formats every line (timestamp, JSON) before its transport drops a level that is
      // off: a line per message at `info` would cost a receiver logging at `warn` as much.
      if (!base.isLevelEnabled(level)) return;
      base.log(level, message, { component, code, ...fields });
    },
    child(name) {
      return wrap(base, name);
    },
    setLevel(level) {
      base.level = level;
    },
  };
}

/** A logger that drops everything (library use without a logger, tests). */
export const silentLogger: Logger = {
  log() {},
  child() {
    return silentLogger;
  },
  setLevel() {},
};

/**
 * An error for a log line or an operator's output: the database's own words, without the
 * statement knex prefixes them with (`SQL - words`, the SQL with its bound values written in,
 * which may be the message being stored), at most 300 characters. With `errorCode`, all that
 * is ever shown of an error from the database.
 */
export function errorText(err: unknown): string {
  const message = String((err as Error)?.message ?? err);
  const cut = message.lastIndexOf(' - ');
  return shorten(cut >= 0 ? message.slice(cut + 3) : message);
}

/** The driver's code of an error (SQLSTATE on PostgreSQL, SQLITE_* on SQLite, E* of the network), if any. */
export function errorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : null;
}

/**
 * Where an error was thrown: its stack without the message lines (a database error's message
 * holds the statement and its bound values), shortened.
 */
export function stackFrames(err: unknown): string {
  const stack = typeof (err as Error)?.stack === 'string' ? (err as Error).stack! : '';
  return shorten(stack.split('\n').filter((line) => line.trimStart().startsWith('at ')).join('\n'), 2000);
}

/** At most `max` characters of a text, for a log line; the one place error text is shortened. */
export function shorten(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}
