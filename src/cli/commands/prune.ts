import type { Command } from 'commander';
import { out, withApp } from '../context.js';
import { json, parseCount } from '../output.js';

export function register(program: Command): void {
  program
    .command('prune')
    .description('remove the raw bytes of old messages (storage.rawRetentionDays); their records stay')
    .option('--older-than <days>', 'retention in days (default: storage.rawRetentionDays)')
    .option('--dry-run', 'count what would be pruned, change nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { olderThan?: string; dryRun?: boolean; json?: boolean }, command: Command) => {
      const days = opts.olderThan === undefined ? undefined : parseCount(opts.olderThan, '--older-than', 1);
      await withApp(command, async (app) => {
        const r = await app.retention.prune({ ...(days !== undefined ? { olderThanDays: days } : {}), dryRun: opts.dryRun === true });
        if (opts.json) return out(json(r));
        if (!r.cutoff) return out('storage.rawRetentionDays is 0: raw messages are kept forever (give --older-than to prune anyway)');
        out(`${r.dryRun ? 'would prune' : 'pruned'} the raw bytes of ${r.pruned} message(s) received before ${r.cutoff}`);
      });
    });
}
