import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import type { SuppressionRecord } from '../../services/suppression.js';
import { CliError, out, withApp } from '../context.js';
import { csv, parseChoice, parseSince, terminalText } from '../output.js';

/** Exit statuses of `suppression check`. */
export const CHECK_EXIT = { clear: 0, suppressed: 1, usage: 2, unavailable: 3 } as const;

const EXPORT_COLUMNS = ['email', 'reason', 'created_at', 'campaign_id', 'status_code', 'bounce_id', 'contact_id'];
const exportRow = (s: SuppressionRecord) => [s.email, s.reason, s.createdAt, s.campaignId, s.statusCode, s.bounceId, s.contactId];

export function register(program: Command): void {
  const suppression = program.command('suppression').description('the suppression list the send pipeline reads before every send');

  suppression
    .command('check')
    .description('exit 0 when no address given is suppressed, 1 when one is (2: bad usage, 3: database unavailable)')
    .argument('<email...>', 'addresses to check')
    .option('--json', 'print one JSON object per address')
    .option('-q, --quiet', 'print nothing; the exit status tells')
    .action(async (emails: string[], opts: { json?: boolean; quiet?: boolean }, command: Command) => {
      let statuses;
      try {
        statuses = await withApp(command, (app) => app.suppressions.check(emails));
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`cannot read the suppression list: ${(err as Error).message}`, CHECK_EXIT.unavailable);
      }
      if (!opts.quiet) {
        for (const s of statuses) {
          if (opts.json) out(JSON.stringify({ email: s.email, suppressed: s.suppressed, reasons: s.reasons, since: s.since }));
          else out(s.suppressed ? `${s.email}\tsuppressed\t${s.reasons.join(',')}\tsince ${s.since}` : `${s.email}\tnot suppressed`);
        }
      }
      process.exitCode = statuses.some((s) => s.suppressed) ? CHECK_EXIT.suppressed : CHECK_EXIT.clear;
    });

  suppression
    .command('export')
    .description('every suppression (one row per contact and reason), oldest first, read in pages')
    .option('--since <when>', 'only suppressions made since a date (2026-11-01), a date and time, or a duration (30d)')
    .option('--format <format>', 'csv or jsonl', 'csv')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (opts: { since?: string; format: string; output?: string }, command: Command) => {
      const format = parseChoice(opts.format, ['csv', 'jsonl'] as const, '--format');
      const since = opts.since ? parseSince(opts.since) : null;
      await withApp(command, async (app) => {
        const stream = opts.output ? createWriteStream(opts.output) : process.stdout;
        const write = async (text: string) => {
          if (!stream.write(text)) await once(stream, 'drain');
        };
        let n = 0;
        if (format === 'csv') await write(csv(EXPORT_COLUMNS, []));
        for await (const s of app.suppressions.rows({ since })) {
          n++;
          if (format === 'csv') await write(csv(EXPORT_COLUMNS, [exportRow(s)], false));
          else await write(`${terminalText(JSON.stringify({ email: s.email, reason: s.reason, createdAt: s.createdAt, campaignId: s.campaignId, statusCode: s.statusCode, bounceId: s.bounceId, contactId: s.contactId }))}\n`);
        }
        if (opts.output) {
          await new Promise<void>((resolve, reject) => (stream as NodeJS.WritableStream).end((err?: Error | null) => (err ? reject(err) : resolve())));
          process.stderr.write(`rebond: ${n} suppression(s) written to ${opts.output}\n`);
        }
      });
    });
}
