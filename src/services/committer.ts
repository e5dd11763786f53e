import type { Repositories, UnitOfWork } from '../storage/repositories.js';

/**
 * Group commit. Work items are applied in one database transaction per batch; each caller's
 * promise settles only after that transaction has committed (or failed). While one batch
 * commits, newly arrived items wait and form the next batch, so an idle receiver commits each
 * message at once and a busy one pays for one durable commit per batch instead of per message.
 *
 * When a batch fails for a reason that may belong to one item (a constraint, bad data), the
 * items are retried one transaction each, so one bad message never fails the others. When the
 * database itself is unavailable, every item of the batch fails at once.
 */
export class Committer<I, R> {
  private readonly queue: Array<{ item: I; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private running: Promise<void> | null = null;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly apply: (repos: Repositories, item: I) => Promise<R>,
    private readonly maxBatch = 64,
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.running ??= this.drain().finally(() => {
        this.running = null;
      });
    });
  }

  /** Resolves once every submitted item has settled. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  get pending(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      await this.commit(batch);
    }
  }

  private async commit(batch: typeof this.queue): Promise<void> {
    try {
      const results = await this.uow.transaction(async (repos) => {
        const out: R[] = [];
        for (const job of batch) out.push(await this.apply(repos, job.item));
        return out;
      });
      batch.forEach((job, i) => job.resolve(results[i]!));
    } catch (err) {
      if (batch.length === 1 || isUnavailable(err)) {
        for (const job of batch) job.reject(err);
        return;
      }
      for (const job of batch) {
        try {
          job.resolve(await this.uow.transaction((repos) => this.apply(repos, job.item)));
        } catch (one) {
          job.reject(one);
        }
      }
    }
  }
}

/** Errors that say the database cannot be used right now, whatever the data. */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string };
  const code = e.code ?? '';
  if (e.name === 'KnexTimeoutError') return true;
  if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|EAI_AGAIN)$/.test(code)) return true;
  if (/^SQLITE_(BUSY|LOCKED|READONLY|CANTOPEN|IOERR|FULL|CORRUPT|NOTADB|PROTOCOL)/.test(code)) return true;
  // PostgreSQL classes 08 (connection), 53 (resources), 57 (operator intervention), 58 (system).
  if (/^(08|53|57|58)/.test(code)) return true;
  return /Connection terminated|connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect|Query read timeout|timeout expired|Connection ended unexpectedly/i.test(e.message ?? '');
}
