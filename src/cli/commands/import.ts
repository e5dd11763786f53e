import type { Command } from 'commander';
import { out, withApp } from '../context.js';
import { box, json } from '../output.js';
import { progressBar } from '../progress.js';

export function register(program: Command): void {
  program
    .command('import')
    .description('import bounces you already have (.eml files, folders, Maildir, mbox) exactly as if they had arrived over SMTP')
    .argument('<path...>', 'files and folders')
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar')
    .action(async (paths: string[], opts: { json?: boolean; progress: boolean }, command: Command) => {
      await withApp(command, async (app) => {
        const bar = progressBar('import  [{bar}] {percentage}% | {value}/{total} | {messages} messages, {stored} new, {duplicates} already stored', { unit: 'bytes', enabled: opts.progress && !opts.json });
        const summary = await app.importer
          .import(paths, (p) => bar.update(p.bytesRead, p.totalBytes, { messages: p.messages, stored: p.stored, duplicates: p.duplicates }))
          .finally(() => bar.stop());
        if (summary.aborted || summary.failed > 0) process.exitCode = 1;
        if (opts.json) return out(json(summary));
        const kinds = Object.entries(summary.byKind).map(([k, n]) => `${k} ${n}`).join(', ');
        const statuses = Object.entries(summary.byStatus).map(([k, n]) => `${k} ${n}`).join(', ');
        out(
          box([
            ['files read', summary.files],
            ['messages', summary.messages],
            ['stored (new)', summary.stored],
            ['already stored', summary.duplicates],
            ['  by kind', kinds || null],
            ['  by status', statuses || null],
            ['records written', summary.records],
            ['contacts bounced', summary.contactsBounced],
            ['soft bounces counted', summary.softBouncesCounted],
            ['complaints', summary.complaints],
            ['too big (skipped)', summary.tooBig],
            ['failed', summary.failed],
          ]),
        );
        for (const p of summary.problems) out(`problem: ${p.source}: ${p.error}`);
        if (summary.aborted) out(`stopped: ${summary.aborted}`);
      }, { create: true });
    });
}
