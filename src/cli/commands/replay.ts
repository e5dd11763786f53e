import type { Command } from 'commander';
import { out, withApp } from '../context.js';
import { box, json, parseSince, table } from '../output.js';
import { progressBar } from '../progress.js';

export function register(program: Command): void {
  program
    .command('replay')
    .description('re-read stored messages with the current parser and apply what changed (idempotent)')
    .option('--since <when>', 'only messages received since a date (2026-11-01), a date and time, or a duration (30d)')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar')
    .action(async (opts: { since?: string; dryRun?: boolean; json?: boolean; progress: boolean }, command: Command) => {
      const since = opts.since ? parseSince(opts.since) : null;
      await withApp(command, async (app) => {
        const bar = progressBar('replay  [{bar}] {percentage}% | {value}/{total} messages | {changed} changed', { enabled: opts.progress && !opts.json });
        let changed = 0;
        const summary = await app.replayer.replay({
          since,
          dryRun: opts.dryRun === true,
          onProgress: (done, total) => bar.update(done, total, { changed }),
        }).finally(() => bar.stop());
        changed = summary.changed;
        if (opts.json) return out(json(summary));
        out(`${summary.dryRun ? 'Dry run (nothing written)' : 'Replay'}${since ? ` of messages since ${since}` : ' of every stored message'}`);
        out(
          box([
            ['messages examined', summary.examined],
            ['unchanged', summary.unchanged],
            ['changed', summary.changed],
            ['  records replaced', summary.recordsReplaced],
            ['  records written', summary.recordsWritten],
            ['  newly counted', summary.newlyCounted],
            ['  contacts bounced', summary.contactsBounced],
            ['  complaints', summary.contactsComplained],
            ['skipped: raw pruned', summary.skippedPruned],
            ['skipped: raw cut at rawMaxBytes', summary.skippedTruncated],
            ['failed', summary.failed],
          ]),
        );
        if (summary.changes.length > 0) {
          out();
          out(table(['message', 'before', 'after', 'newly counted'], summary.changes.map((c) => [c.messageId, [c.before.kind, ...c.before.records].join('\n'), [c.after.kind, ...c.after.records].join('\n'), c.newlyCounted])));
        }
        for (const f of summary.failures) out(`failed: message ${f.messageId}: ${f.error}`);
        if (summary.failed > 0) process.exitCode = 1;
      });
    });
}
