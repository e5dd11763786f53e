import { bounceRate } from '../domain/rates.js';
import { EMPTY_FIGURES, type AutomationInfo, type BouncedContact, type BounceSort, type CampaignFilter, type CampaignInfo, type DomainFigures, type DomainQuery, type Figures, type ReportStore, type SortDirection } from '../storage/stores.js';
import { pageRequest, type Page, type PageOptions } from './paging.js';

/**
 * Bounce reports as plain data, for the command line, the HTTP pages and the JSON API alike.
 *
 * "Contacts sent to" (the denominator of a bounce rate) is, per campaign, the contacts with a
 * recorded send (the send pipeline's `recordSend`) plus the contacts that have a record on the
 * campaign (bounce, delay, delivery or complaint) without a recorded send: a bounce proves a
 * send. A contact counts once per campaign however many records it has. Hard and soft split
 * the bounced contacts: a contact with any hard bounce on the campaign is hard, else soft.
 * Delays and complaints are counted apart and never make a contact bounced.
 */

export interface Totals {
  readonly sentTo: number;
  readonly recordedSends: number;
  readonly bounced: number;
  readonly hard: number;
  readonly soft: number;
  readonly delayed: number;
  readonly complained: number;
  readonly delivered: number;
  readonly bounceRecords: number;
  readonly unknownContactRecords: number;
  /** % of contacts sent to that bounced (2 decimals), null when nobody was sent to. */
  readonly bounceRate: number | null;
}

export interface CampaignSummary extends Totals {
  readonly id: string;
  readonly name: string | null;
  readonly automationId: string | null;
  readonly createdAt: string;
}

export interface BouncedContactsOptions extends PageOptions {
  readonly sort?: BounceSort;
  readonly direction?: SortDirection;
}

export interface CampaignReport {
  readonly campaign: CampaignSummary;
  /** The bounced contacts, one row each: date, code, type and description of its bounce. */
  readonly bounces: Page<BouncedContact>;
}

export interface AutomationSummary extends Totals {
  readonly id: string;
  readonly name: string | null;
  readonly createdAt: string;
  readonly campaigns: number;
}

export interface AutomationReport {
  readonly automation: AutomationSummary;
  /** Its campaigns, oldest first, each with its own summary. */
  readonly campaigns: CampaignSummary[];
}

export interface DomainReportRow extends DomainFigures {
  readonly bounceRate: number | null;
}

export type { AutomationInfo, BouncedContact, DomainQuery, CampaignFilter, BounceSort, SortDirection } from '../storage/stores.js';

export function totalsOf(figures: Figures): Totals {
  return { ...figures, bounceRate: bounceRate(figures.bounced, figures.sentTo) };
}

/** Figures of several campaigns added up: a contact counts once per campaign it was sent. */
export function sumFigures(list: Iterable<Figures>): Figures {
  const sum: { -readonly [K in keyof Figures]: number } = { ...EMPTY_FIGURES };
  for (const f of list) for (const k of Object.keys(sum) as Array<keyof Figures>) sum[k] += f[k];
  return sum;
}

export class ReportService {
  constructor(private readonly store: ReportStore) {}

  async campaignSummary(id: string): Promise<CampaignSummary | null> {
    const campaign = await this.store.campaign(id);
    if (!campaign) return null;
    const figures = await this.store.figures([id]);
    return summary(campaign, figures.get(id));
  }

  /** The seed's campaign report: the summary box and the list of bounced contacts. */
  async campaign(id: string, options: BouncedContactsOptions = {}): Promise<CampaignReport | null> {
    const campaign = await this.campaignSummary(id);
    if (!campaign) return null;
    return { campaign, bounces: await this.bouncedContacts(id, options) };
  }

  async bouncedContacts(id: string, options: BouncedContactsOptions = {}): Promise<Page<BouncedContact>> {
    const page = pageRequest(options);
    const { rows, total } = await this.store.bouncedContacts(id, options.sort ?? 'date', options.direction ?? 'asc', page);
    return { items: rows, total, ...page };
  }

  /** Campaigns with their summaries, newest first unless told otherwise. */
  async campaigns(filter: CampaignFilter = {}, options: PageOptions = {}): Promise<Page<CampaignSummary>> {
    const page = pageRequest(options);
    const { rows, total } = await this.store.campaigns(filter, page);
    const figures = await this.store.figures(rows.map((c) => c.id));
    return { items: rows.map((c) => summary(c, figures.get(c.id))), total, ...page };
  }

  /** Every automation with its number of campaigns and its overall figures. */
  async automations(options: PageOptions = {}): Promise<Page<AutomationSummary>> {
    const page = pageRequest(options);
    const { rows, total } = await this.store.automations(page);
    const campaigns = await this.store.automationCampaigns(rows.map((a) => a.id));
    const figures = await this.store.figures(campaigns.map((c) => c.id));
    const byAutomation = new Map<string, Figures[]>();
    for (const c of campaigns) {
      const list = byAutomation.get(c.automationId!) ?? [];
      list.push(figures.get(c.id) ?? EMPTY_FIGURES);
      byAutomation.set(c.automationId!, list);
    }
    return { items: rows.map((a) => automationSummary(a, byAutomation.get(a.id) ?? [])), total, ...page };
  }

  /** An automation's id, name and number of campaigns, without figures. */
  automationInfo(id: string): Promise<AutomationInfo | null> {
    return this.store.automation(id);
  }

  /** An automation and each of its campaigns with the same summary as a direct campaign. */
  async automation(id: string): Promise<AutomationReport | null> {
    const automation = await this.store.automation(id);
    if (!automation) return null;
    const campaigns = await this.store.automationCampaigns([id]);
    const figures = await this.store.figures(campaigns.map((c) => c.id));
    const summaries = campaigns.map((c) => summary(c, figures.get(c.id)));
    return { automation: automationSummary(automation, campaigns.map((c) => figures.get(c.id) ?? EMPTY_FIGURES)), campaigns: summaries };
  }

  /** Counts and rates per recipient domain, most bounced first unless told otherwise. */
  async domains(query: DomainQuery = {}, options: PageOptions = {}): Promise<Page<DomainReportRow>> {
    const page = pageRequest(options);
    const { rows, total } = await this.store.domains(query, page);
    return { items: rows.map((d) => ({ ...d, bounceRate: bounceRate(d.bounced, d.sentTo) })), total, ...page };
  }
}

function summary(c: CampaignInfo, figures: Figures | undefined): CampaignSummary {
  return { id: c.id, name: c.name, automationId: c.automationId, createdAt: c.createdAt, ...totalsOf(figures ?? EMPTY_FIGURES) };
}

function automationSummary(a: AutomationInfo, figures: Figures[]): AutomationSummary {
  return { id: a.id, name: a.name, createdAt: a.createdAt, campaigns: a.campaigns, ...totalsOf(sumFigures(figures)) };
}
