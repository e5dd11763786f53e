import { errorCode, errorText, type Logger } from '../logger.js';
import type { MessageStore } from '../storage/stores.js';

/**
 * Raw message retention: the raw bytes of messages received more than `rawRetentionDays` ago
 * are set to NULL. Everything else stays (the message row with its fingerprint, so a late
 * redelivery is still recognised; its records; the contact changes); only replay needs the raw
 * bytes, and it skips pruned messages. `serve` prunes every `pruneIntervalMinutes`;
 * `rebond prune` does it on demand.
 */

export interface RetentionSettings {
  /** 0 keeps raw bytes forever. */
  readonly rawRetentionDays: number;
  /** 0 disables the automatic pruning in `serve`. */
  readonly pruneIntervalMinutes: number;
}

export interface PruneResult {
  /** Raw bytes of messages received before this instant were removed (null: retention is off). */
  readonly cutoff: string | null;
  readonly pruned: number;
  readonly dryRun: boolean;
}

const BATCH = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

export class RawRetention {
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly store: MessageStore,
    private readonly settings: RetentionSettings,
    logger: Logger,
  ) {
    this.logger = logger.child('retention');
  }

  /** The instant before which raw bytes go, for a retention in days (the setting by default). */
  cutoff(days = this.settings.rawRetentionDays, now = new Date()): string | null {
    if (!(days > 0)) return null;
    return new Date(now.getTime() - days * DAY_MS).toISOString();
  }

  /** Prunes in batches of 500 (short transactions), until nothing older is left. */
  async prune(options: { olderThanDays?: number; dryRun?: boolean } = {}): Promise<PruneResult> {
    const dryRun = options.dryRun === true;
    const cutoff = this.cutoff(options.olderThanDays ?? this.settings.rawRetentionDays);
    if (!cutoff) return { cutoff, pruned: 0, dryRun };
    if (dryRun) return { cutoff, pruned: await this.store.countPrunable(cutoff), dryRun };
    let pruned = 0;
    for (;;) {
      const n = await this.store.pruneRaw(cutoff, BATCH);
      pruned += n;
      if (n < BATCH) break;
    }
    if (pruned > 0) this.logger.log('info', 'RAW_PRUNED', `raw bytes of ${pruned} message(s) received before ${cutoff} removed`, { pruned, cutoff });
    return { cutoff, pruned, dryRun };
  }

  /** Starts pruning now and every `pruneIntervalMinutes` (when retention and the interval are set). */
  start(): void {
    if (this.timer || !(this.settings.rawRetentionDays > 0) || !(this.settings.pruneIntervalMinutes > 0)) return;
    const run = () => {
      if (this.running) return;
      this.running = this.prune()
        .catch((err: unknown) => this.logger.log('warn', 'RAW_PRUNE_FAILED', 'could not prune raw messages; will try again', { errorCode: errorCode(err), error: errorText(err) }))
        .finally(() => {
          this.running = null;
        });
    };
    this.timer = setInterval(run, this.settings.pruneIntervalMinutes * 60_000);
    this.timer.unref();
    run();
  }

  /** Stops the schedule and waits for a pruning in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
