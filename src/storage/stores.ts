import type { ContactEventName, ContactState, SuppressionReason } from '../domain/contact-rules.js';
import type { BounceType } from '../domain/status-table.js';
import type { ContactRecord, MessageStatus, Repositories, Transport } from './repositories.js';

/**
 * What reports, operator actions, the send pipeline, replay and retention need from storage,
 * beside the ingest repositories (`repositories.ts`). Interfaces here, knex implementations in
 * `knex-reports.ts`, `knex-contacts.ts`, `knex-sends.ts` and `knex-messages.ts`, built only in
 * the composition root. Every list is paginated; every count is an SQL aggregate.
 */

export interface PageRequest {
  readonly limit: number;
  readonly offset: number;
}

export interface Rows<T> {
  readonly rows: T[];
  /** How many rows match, whatever the page. */
  readonly total: number;
}

export interface CampaignInfo {
  readonly id: string;
  readonly name: string | null;
  readonly automationId: string | null;
  readonly createdAt: string;
}

export interface AutomationInfo {
  readonly id: string;
  readonly name: string | null;
  readonly createdAt: string;
  /** Campaigns that belong to it. */
  readonly campaigns: number;
}

/**
 * Counts for one campaign. Contacts are counted once per campaign, whatever the number of
 * records they have on it.
 */
export interface Figures {
  /** Contacts with a recorded send or any record (bounce, delay, delivery, complaint) on the campaign. */
  readonly sentTo: number;
  /** Contacts with a recorded send. */
  readonly recordedSends: number;
  /** Contacts with at least one bounce record (hard or soft). */
  readonly bounced: number;
  /** Bounced contacts with at least one hard bounce. */
  readonly hard: number;
  /** Bounced contacts with soft bounces only. */
  readonly soft: number;
  /** Contacts with a delay warning (never counted as bounced). */
  readonly delayed: number;
  /** Contacts with a complaint (kept apart from bounces). */
  readonly complained: number;
  /** Contacts with a delivery notification. */
  readonly delivered: number;
  /** Bounce records (a contact may have several). */
  readonly bounceRecords: number;
  /** Records of the campaign whose contact is not known here (the token's address was never seen). */
  readonly unknownContactRecords: number;
}

/** The figures of a campaign nobody was sent to. */
export const EMPTY_FIGURES: Figures = {
  sentTo: 0,
  recordedSends: 0,
  bounced: 0,
  hard: 0,
  soft: 0,
  delayed: 0,
  complained: 0,
  delivered: 0,
  bounceRecords: 0,
  unknownContactRecords: 0,
};

export interface CampaignFilter {
  /** Only the campaigns of this automation. */
  readonly automationId?: string;
  /** Only direct campaigns (true) or only automation campaigns (false). */
  readonly direct?: boolean;
  readonly order?: 'newest' | 'oldest';
}

export interface BouncedContact {
  readonly contactId: number;
  readonly email: string;
  /** The contact's state now. */
  readonly state: string;
  /** The bounce shown for the contact: its first hard bounce on the campaign, else its first soft one. */
  readonly bounceId: number;
  readonly date: string;
  readonly code: string | null;
  readonly type: BounceType | null;
  readonly description: string | null;
  readonly diagnostic: string | null;
  /** Bounce records of the contact on the campaign. */
  readonly bounces: number;
}

export type BounceSort = 'date' | 'code' | 'type' | 'email';
export type SortDirection = 'asc' | 'desc';

export interface DomainQuery {
  /** Only sends and records at or after this instant (ISO-8601). */
  readonly since?: string | null;
  /** Hide domains with fewer contacts sent to. */
  readonly minSent?: number;
  readonly sort?: 'bounced' | 'rate' | 'sent' | 'domain';
}

/** Counts for one recipient domain, summed over campaigns (a contact counts once per campaign). */
export interface DomainFigures {
  readonly domain: string;
  readonly sentTo: number;
  readonly bounced: number;
  readonly hard: number;
  readonly soft: number;
  readonly delayed: number;
  readonly complained: number;
  /** The most frequent bounce code at this domain, and how many bounce records carry it. */
  readonly topCode: string | null;
  readonly topCodeRecords: number;
}

export interface ReportStore {
  campaign(id: string): Promise<CampaignInfo | null>;
  campaigns(filter: CampaignFilter, page: PageRequest): Promise<Rows<CampaignInfo>>;
  /** Figures of each campaign named (campaigns without any send or record get zeros). */
  figures(campaignIds: readonly string[]): Promise<Map<string, Figures>>;
  bouncedContacts(campaignId: string, sort: BounceSort, direction: SortDirection, page: PageRequest): Promise<Rows<BouncedContact>>;
  automation(id: string): Promise<AutomationInfo | null>;
  automations(page: PageRequest): Promise<Rows<AutomationInfo>>;
  /** Ids of the campaigns of these automations, oldest first. */
  automationCampaigns(automationIds: readonly string[]): Promise<CampaignInfo[]>;
  domains(query: DomainQuery, page: PageRequest): Promise<Rows<DomainFigures>>;
}

export interface BounceRecord {
  readonly id: number;
  readonly messageId: number;
  readonly campaignId: string | null;
  readonly contactId: number | null;
  readonly recipient: string | null;
  readonly kind: string;
  readonly action: string | null;
  readonly statusCode: string | null;
  readonly statusSource: string | null;
  readonly type: BounceType | null;
  readonly description: string | null;
  readonly diagnostic: string | null;
  readonly remoteMta: string | null;
  readonly reportingMta: string | null;
  readonly counted: boolean;
  readonly receivedAt: string;
}

export interface ContactEventRecord {
  readonly id: number;
  readonly at: string;
  readonly event: ContactEventName;
  readonly fromState: string;
  readonly toState: string;
  readonly actor: string;
  readonly detail: string;
  readonly bounceId: number | null;
}

export interface SuppressionRecord {
  readonly contactId: number;
  readonly email: string;
  readonly reason: SuppressionReason;
  readonly createdAt: string;
  /** The record that caused it (in `bounces`, or in `replaced_bounces` after a replay). */
  readonly bounceId: number | null;
  readonly campaignId: string | null;
  readonly statusCode: string | null;
}

export interface SuppressionCursor {
  readonly createdAt: string;
  readonly contactId: number;
  readonly reason: string;
}

export interface SuppressionQuery {
  /** Only suppressions created at or after this instant. */
  readonly since?: string | null;
  /** Only addresses containing this text. */
  readonly search?: string | null;
  /** Keyset: the rows after this one (order: created_at, contact_id, reason). */
  readonly after?: SuppressionCursor | null;
}

export interface ContactStore {
  byEmail(email: string): Promise<ContactRecord | null>;
  /** The contact's records (bounces, delays, deliveries, complaints), newest first. */
  records(contactId: number, page: PageRequest): Promise<Rows<BounceRecord>>;
  /** The audit trail, oldest first. */
  events(contactId: number, page: PageRequest): Promise<Rows<ContactEventRecord>>;
  /** Campaigns with a recorded send to the contact. */
  sendCount(contactId: number): Promise<number>;
}

export interface SuppressionStore {
  forContact(contactId: number): Promise<SuppressionRecord[]>;
  /** Every suppression of these addresses (already normalised). */
  byEmails(emails: readonly string[]): Promise<SuppressionRecord[]>;
  list(query: SuppressionQuery, limit: number): Promise<SuppressionRecord[]>;
  count(query: SuppressionQuery): Promise<number>;
}

export interface NewSend {
  readonly campaignId: string;
  readonly email: string;
  readonly emailKey: string;
  readonly sentAt: string;
  readonly messageId: string | null;
}

export interface SendStore {
  /** Creates the automation, or renames it when a name is given. */
  registerAutomation(id: string, name: string | null, at: string): Promise<void>;
  /**
   * Creates the campaign, or updates it: the name when given; the automation when
   * `automationId` is given (`null` makes it direct). A missing automation is created.
   */
  registerCampaign(id: string, name: string | null, automationId: string | null | undefined, at: string): Promise<void>;
  /** Creates missing contacts (never touching existing ones) and returns their ids by email. */
  ensureContacts(contacts: ReadonlyArray<{ email: string; emailKey: string }>, at: string): Promise<Map<string, number>>;
  /** Records sends in one transaction; campaigns and contacts are created when missing. */
  recordSends(sends: readonly NewSend[], at: string): Promise<void>;
  /** The state of each known contact among these addresses. */
  states(emails: readonly string[]): Promise<Map<string, ContactState>>;
}

export interface StoredMessage {
  readonly id: number;
  readonly receivedAt: string;
  readonly transport: Transport;
  readonly mailFrom: string | null;
  readonly rcptTo: string[];
  readonly remoteAddress: string | null;
  readonly helo: string | null;
  readonly size: number;
  readonly raw: Buffer | null;
  readonly kind: string;
  readonly format: string;
  readonly status: MessageStatus;
  readonly problems: string[];
  readonly headerMessageId: string | null;
  readonly campaignId: string | null;
  readonly contactKey: string | null;
}

export interface MessageUpdate {
  readonly kind: string;
  readonly format: string;
  readonly status: MessageStatus;
  readonly problems: readonly string[];
  readonly headerMessageId: string | null;
  readonly campaignId: string | null;
  readonly contactKey: string | null;
  readonly replayedAt: string;
}

/** Replay's operations on one message, inside its transaction. */
export interface ReplayRepository {
  /** The message, locked for the rest of the transaction (PostgreSQL: FOR UPDATE). */
  lockMessage(id: number): Promise<StoredMessage | null>;
  records(messageId: number): Promise<BounceRecord[]>;
  /** Moves the message's records to `replaced_bounces`; returns how many. */
  replaceRecords(messageId: number, at: string): Promise<number>;
  updateMessage(id: number, update: MessageUpdate): Promise<void>;
  /** Whether the contact had one of these events strictly after `at`. */
  hadEventAfter(contactId: number, events: readonly ContactEventName[], at: string): Promise<boolean>;
}

export interface MessageStore {
  /** One message, not locked. */
  get(id: number): Promise<StoredMessage | null>;
  /** Ids of messages received at or after `since` (all when null), after `afterId`, in id order. */
  ids(afterId: number, since: string | null, limit: number): Promise<number[]>;
  count(since: string | null): Promise<number>;
  /** Runs `work` in one transaction (retried on a PostgreSQL deadlock or serialisation failure). */
  transaction<T>(work: (repos: Repositories, replay: ReplayRepository) => Promise<T>): Promise<T>;
  /** Sets `raw` to NULL for at most `limit` messages received before `before`; returns how many. */
  pruneRaw(before: string, limit: number): Promise<number>;
  countPrunable(before: string): Promise<number>;
}

/** What `/healthz` and the metrics gauges read. */
export interface HealthStore {
  /** Reads from the database (a table, not a constant); throws when it cannot, or after `timeoutMs`. */
  ping(timeoutMs: number): Promise<void>;
  /** Contacts in state `bounced`, and contacts with at least one suppression. */
  contactCounts(): Promise<{ bounced: number; suppressed: number }>;
}
