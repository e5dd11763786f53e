import { errorText, type Logger } from '../logger.js';
import type { Repositories, UnitOfWork } from '../storage/repositories.js';

/**
 * Group commit. Work items are applied in one database transaction per batch; each caller's
 * promise settles only after that transaction has committed (or failed). While one batch
 * commits, newly arrived items wait and form the next batch, so an idle receiver commits each
 * message at once and a busy one pays for one durable commit per batch instead of per message.
 *
 * Several receivers sharing one PostgreSQL database commit batches at the same time, and two
 * batches may name the same rows. So that they queue rather than deadlock, every transaction
 * takes its locks in one global order: first `lock` (given the whole batch, it takes the
 * locks the items will need, in their own order), then the items in `order` (each item's own
 * unique rows, e.g. a message's fingerprint). A transaction that still loses a conflict is
 * rolled back and run again from the start by the unit of work, so nothing in it counts twice.
 *
 * When a batch fails for a reason that may belong to one item (a constraint, bad data), the
 * items are retried one transaction each, so one bad message never fails the others. When the
 * database itself is unavailable, every item of the batch fails at once.
 */
export interface CommitterOptions<I> {
  readonly maxBatch?: number;
  /** Takes, in a global order, the locks that the items of a batch need. */
  readonly lock?: (repos: Repositories, items: readonly I[]) => Promise<void>;
  /** The order items are applied in within a batch. */
  readonly order?: (a: I, b: I) => number;
  readonly logger?: Logger;
  /** Told of each commit: how long it took, how many items, whether it committed. */
  readonly observe?: (seconds: number, items: number, ok: boolean) => void;
}

interface Job<I, R> {
  readonly item: I;
  /** When it was submitted (epoch ms). */
  readonly at: number;
  resolve(r: R): void;
  reject(e: unknown): void;
}

export class Committer<I, R> {
  private readonly queue: Array<Job<I, R>> = [];
  private running: Promise<void> | null = null;
  private readonly maxBatch: number;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly apply: (repos: Repositories, item: I) => Promise<R>,
    private readonly options: CommitterOptions<I> = {},
  ) {
    this.maxBatch = options.maxBatch ?? 64;
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, at: Date.now(), resolve, reject });
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

  /** Applies jobs in one transaction: locks first, then each item in order. */
  private async run(jobs: ReadonlyArray<Job<I, R>>): Promise<R[]> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const out = await this.uow.transaction(
        async (repos) => {
          await this.options.lock?.(repos, jobs.map((j) => j.item));
          // A retried attempt starts again from here with nothing kept from the failed one.
          const results: R[] = [];
          for (const job of jobs) results.push(await this.apply(repos, job.item));
          return results;
        },
        // A wait for the database counts from when the oldest item was submitted.
        { since: Math.min(...jobs.map((j) => j.at)) },
      );
      this.options.observe?.(seconds(), jobs.length, true);
      return out;
    } catch (err) {
      this.options.observe?.(seconds(), jobs.length, false);
      throw err;
    }
  }

  private async commit(batch: Array<Job<I, R>>): Promise<void> {
    const order = this.options.order;
    const jobs = order ? [...batch].sort((a, b) => order(a.item, b.item)) : batch;
    try {
      const results = await this.run(jobs);
      jobs.forEach((job, i) => job.resolve(results[i]!));
    } catch (err) {
      if (jobs.length === 1 || isUnavailable(err)) {
        for (const job of jobs) job.reject(err);
        return;
      }
      this.options.logger?.log('warn', 'COMMIT_BATCH_SPLIT', 'a batch failed; committing its items one by one', { items: jobs.length, error: errorText(err) });
      for (const job of jobs) {
        try {
          job.resolve((await this.run([job]))[0]!);
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

/**
 * Errors that say the database refused a value, and would refuse it again at every attempt:
 * PostgreSQL classes 22 (data exception) and 23 (integrity constraint) except the unique
 * violations that `ON CONFLICT` and the retries handle, and SQLite's constraint, type and size
 * errors. Never an outage.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (/^2[23][0-9A-Z]{3}$/.test(code)) return code !== '23505';
  return /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code);
}
