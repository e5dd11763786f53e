import type { HealthStore } from '../storage/stores.js';

/**
 * Whether this receiver can do its work: the database answers a read within `timeoutMs`. Also
 * says whether the last commit of a received message failed (while commits fail, messages are
 * answered 451), for information only: that stays so until the next message commits, and a
 * probe that kept an idle receiver out of service until mail arrives would never recover.
 */

export interface Health {
  readonly ok: boolean;
  readonly database: 'ok' | 'unreachable';
  readonly commits: 'ok' | 'failing';
  /** How long the database took to answer, in milliseconds. */
  readonly ms: number;
  /** The database's error, for the log (never sent to the client). */
  readonly error?: string;
}

export class HealthService {
  constructor(
    private readonly store: HealthStore,
    private readonly committing: () => boolean,
    private readonly timeoutMs = 3000,
  ) {}

  async check(): Promise<Health> {
    const started = Date.now();
    let error: string | undefined;
    try {
      await this.store.ping(this.timeoutMs);
    } catch (err) {
      error = String((err as Error)?.message ?? err).slice(0, 300);
    }
    const database = error === undefined ? 'ok' : 'unreachable';
    const commits = this.committing() ? 'ok' : 'failing';
    return { ok: database === 'ok', database, commits, ms: Date.now() - started, ...(error ? { error } : {}) };
  }

  contactCounts(): Promise<{ bounced: number; suppressed: number }> {
    return this.store.contactCounts();
  }
}
