import type { Command } from 'commander';
import type { BouncedContact, CampaignSummary, ReportService } from '../../services/reports.js';
import { CliError, out, withApp } from '../context.js';
import { box, csv, json, parseChoice, parseCount, parseSince, percent, shortDate, table, type Cell } from '../output.js';

type Format = 'table' | 'json' | 'csv';
const FORMATS: readonly Format[] = ['table', 'json', 'csv'];

interface ListOptions {
  format: string;
  limit?: string;
  offset?: string;
}

const formatOption = ['--format <format>', 'table, json or csv', 'table'] as const;
const limitOption = ['--limit <n>', 'rows per page (default: every row)'] as const;
const offsetOption = ['--offset <n>', 'rows to skip', '0'] as const;

/** Reads every page of a list unless one page was asked for. */
async function allPages<T>(opts: ListOptions, read: (limit: number, offset: number) => Promise<{ items: T[]; total: number }>): Promise<{ items: T[]; total: number }> {
  const offset = parseCount(opts.offset ?? '0', '--offset');
  if (opts.limit !== undefined) return read(parseCount(opts.limit, '--limit', 1), offset);
  const items: T[] = [];
  let total = 0;
  for (let at = offset; ; ) {
    const page = await read(1000, at);
    items.push(...page.items);
    total = page.total;
    at += page.items.length;
    if (page.items.length === 0 || at >= total) break;
  }
  return { items, total };
}

const SUMMARY_COLUMNS = ['id', 'name', 'automation_id', 'created_at', 'sent_to', 'recorded_sends', 'bounced', 'hard', 'soft', 'bounce_rate', 'delayed', 'complained', 'delivered', 'bounce_records', 'unknown_contact_records'];
const summaryRow = (c: CampaignSummary): Cell[] => [c.id, c.name, c.automationId, c.createdAt, c.sentTo, c.recordedSends, c.bounced, c.hard, c.soft, c.bounceRate, c.delayed, c.complained, c.delivered, c.bounceRecords, c.unknownContactRecords];

function summaryTable(list: readonly CampaignSummary[], withAutomation: boolean): string {
  const head = ['campaign', 'name', ...(withAutomation ? ['automation'] : []), 'sent to', 'bounced', 'rate', 'hard', 'soft', 'delays', 'complaints'];
  const rows = list.map((c) => [c.id, c.name, ...(withAutomation ? [c.automationId ?? 'direct'] : []), c.sentTo, c.bounced, percent(c.bounceRate), c.hard, c.soft, c.delayed, c.complained]);
  return table(head, rows, { align: head.map((_, i) => (i < (withAutomation ? 3 : 2) ? 'left' : 'right')) });
}

function summaryBox(c: { sentTo: number; recordedSends: number; bounced: number; bounceRate: number | null; hard: number; soft: number; delayed: number; complained: number; delivered: number; unknownContactRecords: number }): string {
  return box([
    ['contacts sent to', c.sentTo],
    ['  with a recorded send', c.recordedSends],
    ['bounced contacts', c.bounced],
    ['bounce rate', percent(c.bounceRate)],
    ['  hard', c.hard],
    ['  soft', c.soft],
    ['delays (not counted)', c.delayed],
    ['complaints', c.complained],
    ['delivery notices', c.delivered],
    ['records for unknown contacts', c.unknownContactRecords],
  ]);
}

const BOUNCE_COLUMNS = ['campaign_id', 'email', 'date', 'code', 'type', 'description', 'diagnostic', 'bounces', 'state'];
const bounceRow = (campaignId: string, b: BouncedContact): Cell[] => [campaignId, b.email, b.date, b.code, b.type, b.description, b.diagnostic, b.bounces, b.state];

async function campaignReport(reports: ReportService, id: string, opts: ListOptions & { sort: string; desc?: boolean }): Promise<void> {
  const format = parseChoice(opts.format, FORMATS, '--format');
  const sort = parseChoice(opts.sort, ['date', 'code', 'type', 'email'] as const, '--sort');
  const campaign = await reports.campaignSummary(id);
  if (!campaign) throw new CliError(`no campaign "${id}"`);
  const bounces = await allPages(opts, (limit, offset) => reports.bouncedContacts(id, { sort, direction: opts.desc ? 'desc' : 'asc', limit, offset }));
  if (format === 'json') return out(json({ campaign, bounces: { items: bounces.items, total: bounces.total } }));
  if (format === 'csv') return void process.stdout.write(csv(BOUNCE_COLUMNS, bounces.items.map((b) => bounceRow(id, b))));
  out(`Campaign ${campaign.id}${campaign.name ? ` (${campaign.name})` : ''}: ${campaign.automationId ? `automation ${campaign.automationId}` : 'direct campaign'}`);
  out(summaryBox(campaign));
  out();
  out(`Bounced contacts: ${bounces.total}${bounces.items.length < bounces.total ? ` (showing ${bounces.items.length})` : ''}`);
  if (bounces.items.length > 0) {
    out(
      table(
        ['date (UTC)', 'contact', 'code', 'type', 'description', 'bounces', 'state'],
        bounces.items.map((b) => [shortDate(b.date), b.email, b.code, b.type, b.description, b.bounces, b.state]),
        { align: ['left', 'left', 'left', 'left', 'left', 'right', 'left'] },
      ),
    );
  }
}

export function register(program: Command): void {
  const report = program.command('report').description('bounce reports: campaigns, automations, recipient domains');

  report
    .command('campaign')
    .description("a campaign's summary (contacts sent to, bounced, rate, hard/soft, delays, complaints) and its bounced contacts")
    .argument('<id>', 'campaign id')
    .option(...formatOption)
    .option('--sort <column>', 'bounced contacts by date, code, type or email', 'date')
    .option('--desc', 'sort in descending order')
    .option(...limitOption)
    .option(...offsetOption)
    .action(async (id: string, opts: ListOptions & { sort: string; desc?: boolean }, command: Command) => {
      await withApp(command, (app) => campaignReport(app.reports, id, opts));
    });

  report
    .command('campaigns')
    .description('campaigns with their summaries, newest first')
    .option('--automation <id>', 'only the campaigns of this automation')
    .option('--direct', 'only direct campaigns')
    .option(...formatOption)
    .option(...limitOption)
    .option(...offsetOption)
    .action(async (opts: ListOptions & { automation?: string; direct?: boolean }, command: Command) => {
      const format = parseChoice(opts.format, FORMATS, '--format');
      await withApp(command, async (app) => {
        const filter = { ...(opts.automation ? { automationId: opts.automation } : {}), ...(opts.direct ? { direct: true } : {}) };
        const list = await allPages(opts, (limit, offset) => app.reports.campaigns(filter, { limit, offset }));
        if (format === 'json') return out(json(list));
        if (format === 'csv') return void process.stdout.write(csv(SUMMARY_COLUMNS, list.items.map(summaryRow)));
        out(`Campaigns: ${list.total}`);
        if (list.items.length > 0) out(summaryTable(list.items, true));
      });
    });

  report
    .command('automations')
    .description('every automation with its number of campaigns and overall bounce rate')
    .option(...formatOption)
    .option(...limitOption)
    .option(...offsetOption)
    .action(async (opts: ListOptions, command: Command) => {
      const format = parseChoice(opts.format, FORMATS, '--format');
      await withApp(command, async (app) => {
        const list = await allPages(opts, (limit, offset) => app.reports.automations({ limit, offset }));
        if (format === 'json') return out(json(list));
        const columns = ['id', 'name', 'campaigns', 'sent_to', 'bounced', 'hard', 'soft', 'bounce_rate', 'delayed', 'complained'];
        const rows = list.items.map((a) => [a.id, a.name, a.campaigns, a.sentTo, a.bounced, a.hard, a.soft, a.bounceRate, a.delayed, a.complained]);
        if (format === 'csv') return void process.stdout.write(csv(columns, rows));
        out(`Automations: ${list.total}`);
        if (list.items.length > 0) {
          out(
            table(
              ['automation', 'name', 'campaigns', 'sent to', 'bounced', 'hard', 'soft', 'rate', 'delays', 'complaints'],
              list.items.map((a) => [a.id, a.name, a.campaigns, a.sentTo, a.bounced, a.hard, a.soft, percent(a.bounceRate), a.delayed, a.complained]),
              { align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] },
            ),
          );
        }
      });
    });

  report
    .command('automation')
    .description('an automation: its overall figures and each of its campaigns with its summary')
    .argument('<id>', 'automation id')
    .option(...formatOption)
    .action(async (id: string, opts: { format: string }, command: Command) => {
      const format = parseChoice(opts.format, FORMATS, '--format');
      await withApp(command, async (app) => {
        const r = await app.reports.automation(id);
        if (!r) throw new CliError(`no automation "${id}"`);
        if (format === 'json') return out(json(r));
        if (format === 'csv') return void process.stdout.write(csv(SUMMARY_COLUMNS, r.campaigns.map(summaryRow)));
        out(`Automation ${r.automation.id}${r.automation.name ? ` (${r.automation.name})` : ''}: ${r.automation.campaigns} campaign(s)`);
        out(summaryBox(r.automation));
        out();
        if (r.campaigns.length > 0) out(summaryTable(r.campaigns, false));
      });
    });

  report
    .command('domains')
    .description('counts and bounce rates per recipient domain, to spot a provider that blocks us')
    .option('--since <when>', 'only sends and records since a date (2026-11-01) or a duration (30d, 12h)')
    .option('--min-sent <n>', 'hide domains with fewer contacts sent to', '1')
    .option('--sort <column>', 'bounced, rate, sent or domain', 'bounced')
    .option(...formatOption)
    .option(...limitOption)
    .option(...offsetOption)
    .action(async (opts: ListOptions & { since?: string; minSent: string; sort: string }, command: Command) => {
      const format = parseChoice(opts.format, FORMATS, '--format');
      const sort = parseChoice(opts.sort, ['bounced', 'rate', 'sent', 'domain'] as const, '--sort');
      const since = opts.since ? parseSince(opts.since) : null;
      const minSent = parseCount(opts.minSent, '--min-sent');
      await withApp(command, async (app) => {
        const list = await allPages(opts, (limit, offset) => app.reports.domains({ since, minSent, sort }, { limit, offset }));
        if (format === 'json') return out(json(list));
        const columns = ['domain', 'sent_to', 'bounced', 'hard', 'soft', 'bounce_rate', 'delayed', 'complained', 'top_code', 'top_code_records'];
        const rows = list.items.map((d) => [d.domain, d.sentTo, d.bounced, d.hard, d.soft, d.bounceRate, d.delayed, d.complained, d.topCode, d.topCodeRecords]);
        if (format === 'csv') return void process.stdout.write(csv(columns, rows));
        out(`Recipient domains: ${list.total}${since ? ` (since ${shortDate(since)} UTC)` : ''}`);
        if (list.items.length > 0) {
          out(
            table(
              ['domain', 'sent to', 'bounced', 'rate', 'hard', 'soft', 'delays', 'complaints', 'top code'],
              list.items.map((d) => [d.domain, d.sentTo, d.bounced, percent(d.bounceRate), d.hard, d.soft, d.delayed, d.complained, d.topCode ? `${d.topCode} (${d.topCodeRecords})` : '-']),
              { align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'] },
            ),
          );
        }
      });
    });
}
