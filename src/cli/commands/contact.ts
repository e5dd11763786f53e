import type { Command } from 'commander';
import { CliError, out, withApp } from '../context.js';
import { box, json, parseChoice, parseCount, shortDate, table } from '../output.js';

export function register(program: Command): void {
  const contact = program.command('contact').description("look a contact up; reverse a bounce (operators only)");

  contact
    .command('show')
    .description('state, soft streak, suppressions, bounce history and audit trail of a contact')
    .argument('<email>', "the contact's address")
    .option('--format <format>', 'table or json', 'table')
    .option('--limit <n>', 'history and audit rows to show (newest history first)', '100')
    .action(async (email: string, opts: { format: string; limit: string }, command: Command) => {
      const format = parseChoice(opts.format, ['table', 'json'] as const, '--format');
      const limit = parseCount(opts.limit, '--limit', 1);
      await withApp(command, async (app) => {
        const view = await app.contacts.show(email, { history: { limit }, events: { limit } });
        if (!view) throw new CliError(`no contact ${email.trim().toLowerCase()}`);
        if (format === 'json') return out(json(view));
        const c = view.contact;
        out(`Contact ${c.email}`);
        out(
          box([
            ['state', c.state],
            ['bounced since', c.bouncedAt ? `${shortDate(c.bouncedAt)} (${c.bouncedReason})` : null],
            ['suppressed', view.suppressed ? `yes: ${view.suppressions.map((s) => s.reason).join(', ')}` : 'no'],
            ['soft streak', `${view.softStreak} of ${view.softThreshold}${c.softCampaigns.length > 0 ? ` (${c.softCampaigns.join(', ')})` : ''}`],
            ['complained', c.complained ? 'yes' : 'no'],
            ['campaigns sent', view.sends],
            ['known since', shortDate(c.createdAt)],
          ], 'left'),
        );
        if (view.suppressions.length > 0) {
          out();
          out('Suppressions');
          out(table(['since (UTC)', 'reason', 'campaign', 'code'], view.suppressions.map((s) => [shortDate(s.createdAt), s.reason, s.campaignId, s.statusCode])));
        }
        out();
        out(`History: ${view.history.total} record(s)${view.history.items.length < view.history.total ? `, newest ${view.history.items.length} shown` : ''}`);
        if (view.history.items.length > 0) {
          out(table(['date (UTC)', 'campaign', 'kind', 'code', 'type', 'description', 'counted'], view.history.items.map((r) => [shortDate(r.receivedAt), r.campaignId, r.kind, r.statusCode, r.type, r.description, r.counted ? 'yes' : 'no'])));
        }
        out();
        out(`Audit trail: ${view.events.total} event(s)`);
        if (view.events.items.length > 0) {
          out(table(['at (UTC)', 'event', 'from', 'to', 'by', 'detail'], view.events.items.map((e) => [shortDate(e.at), e.event, e.fromState, e.toState, e.actor, e.detail])));
        }
      });
    });

  contact
    .command('unbounce')
    .description('make a bounced contact sendable again: removes its bounce suppression (not a complaint), audited')
    .argument('<email>', "the contact's address")
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .requiredOption('--operator <name>', 'who (recorded in the audit trail)')
    .option('--json', 'print JSON')
    .action(async (email: string, opts: { reason: string; operator: string; json?: boolean }, command: Command) => {
      if (!opts.reason.trim()) throw new CliError('--reason must not be empty', 2);
      if (!opts.operator.trim()) throw new CliError('--operator must not be empty', 2);
      await withApp(command, async (app) => {
        const { OperatorError } = await import('../../services/contacts.js');
        try {
          const r = await app.contacts.unbounce(email, opts.reason, opts.operator);
          if (opts.json) return out(json(r));
          out(`${r.email} is active again${r.removed.length > 0 ? ` (suppression removed: ${r.removed.join(', ')})` : ''}; recorded as done by ${opts.operator.trim()}.`);
          if (r.stillSuppressed.length > 0) out(`It is still suppressed (${r.stillSuppressed.join(', ')}): the send pipeline must not mail it.`);
        } catch (err) {
          if (err instanceof OperatorError) throw new CliError(err.message, err.code === 'invalid' ? 2 : 1);
          throw err;
        }
      });
    });
}
