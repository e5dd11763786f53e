import type { Logger } from '../../src/logger.js';

export interface LogEntry {
  readonly level: string;
  readonly code: string;
  readonly component: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

/** A logger that keeps every line, for tests that check what was logged. */
export function captureLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const make = (component: string): Logger => ({
    log(level, code, message, fields = {}) {
      entries.push({ ...fields, level, code, component, message });
    },
    child(name) {
      return make(name);
    },
  });
  return { logger: make('rebond'), entries };
}
