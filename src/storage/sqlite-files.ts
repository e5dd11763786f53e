import { accessSync, constants } from 'node:fs';
import type { Database as SqliteDatabase } from 'sqlite3';

/**
 * SQLite keeps a WAL database's shared index in the `-shm` file, mapped into memory, and
 * writes to it on every transaction (readers too). When that file cannot be written (made
 * immutable, a file system remounted read-only), the kernel answers the write to the mapping
 * with SIGBUS: the process dies, with nothing logged, and the message in hand is never
 * answered. So each statement first asks the kernel (access(2), about a microsecond per file)
 * whether the `-wal` and `-shm` files may be written, and fails as a read-only database does
 * when they may not: the message is answered 451, the outage logged once, and the receiver
 * resumes when the files are writable again. A change made in the instant between the check
 * and the statement can still end the process.
 */

/** The database file of each guarded connection. */
const files = new WeakMap<object, string>();

/**
 * Checks every statement of this connection (see above); `filename` is the database file.
 * `leftOpen` is told when the connection is not closed because the files cannot be written.
 */
export function guardConnection(conn: SqliteDatabase, filename: string, leftOpen: (reason: string) => void = () => {}): void {
  files.set(conn, filename);
  for (const method of ['exec', 'run', 'all', 'get', 'each', 'prepare'] as const) {
    const original = (conn[method] as (...args: unknown[]) => unknown).bind(conn);
    (conn as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const refused = unwritable(filename);
      if (!refused) return original(...args);
      const callback = args.findLast((a) => typeof a === 'function') as ((err: Error) => void) | undefined;
      if (!callback) throw refused;
      process.nextTick(() => callback(refused));
      return conn;
    };
  }
  // Closing the last connection checkpoints the WAL through the same mapping, and so does the
  // driver when the process ends with the connection open. So the connection is left open, and
  // the process ends without running the driver's finalizers (`process.exit` from the `exit`
  // event); the WAL file keeps every commit.
  const close = conn.close.bind(conn);
  conn.close = ((callback?: (err: Error | null) => void) => {
    const refused = unwritable(filename);
    if (!refused) return close(callback);
    leftOpen(refused.message);
    process.once('exit', (code) => process.exit(code));
    process.nextTick(() => callback?.(null));
    return conn;
  }) as SqliteDatabase['close'];
}

/** Throws when a guarded connection's files cannot be written (for statements prepared earlier). */
export function checkConnection(conn: SqliteDatabase): void {
  const filename = files.get(conn);
  const refused = filename ? unwritable(filename) : null;
  if (refused) throw refused;
}

/** The error of a database whose `-wal` or `-shm` file exists and cannot be written; null when both can (or do not exist yet). */
export function unwritable(filename: string): Error | null {
  for (const file of [`${filename}-wal`, `${filename}-shm`]) {
    try {
      accessSync(file, constants.W_OK);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') continue;
      return Object.assign(new Error(`SQLITE_READONLY: ${file} cannot be written (${code}); no statement runs until it can`), { code: 'SQLITE_READONLY', cause: code });
    }
  }
  return null;
}
