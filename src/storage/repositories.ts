import type { ContactEventName, ContactState, SuppressionReason } from '../domain/contact-rules.js';
import type { BounceType } from '../domain/status-table.js';

/**
 * What the services need from storage, as interfaces. The knex implementation lives beside
 * (`knex-repositories.ts`) and is built only in the composition root. Domain objects are
 * camelCase; timestamps are ISO-8601 UTC strings.
 */

export interface ContactRecord {
  readonly id: number;
  readonly email: string;
  readonly emailKey: string;
  readonly state: ContactState;
  readonly softCampaigns: readonly string[];
  readonly complained: boolean;
  readonly bouncedAt: string | null;
  readonly bouncedReason: string | null;
  readonly bounceId: number | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type MessageStatus = 'processed' | 'unattributed' | 'unparseable' | 'parse_timeout';
export type Transport = 'smtp' | 'import' | 'replay';

export interface NewMessage {
  readonly fingerprint: string;
  readonly receivedAt: string;
  readonly transport: Transport;
  readonly mailFrom: string | null;
  readonly rcptTo: readonly string[];
  readonly remoteAddress: string | null;
  readonly helo: string | null;
  readonly size: number;
  readonly raw: Buffer | null;
  readonly kind: string;
  readonly format: string;
  readonly status: MessageStatus;
  readonly problems: readonly string[];
  readonly headerMessageId: string | null;
  readonly campaignId: string | null;
  readonly contactKey: string | null;
}

export interface NewBounce {
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

export interface ContactUpdate {
  readonly state: ContactState;
  readonly softCampaigns: readonly string[];
  readonly complained: boolean;
  readonly bouncedAt: string | null;
  readonly bouncedReason: string | null;
  readonly bounceId: number | null;
  readonly updatedAt: string;
}

export interface NewContactEvent {
  readonly contactId: number;
  readonly at: string;
  readonly event: ContactEventName;
  readonly fromState: ContactState;
  readonly toState: ContactState;
  readonly actor: string;
  readonly detail: string;
  readonly bounceId: number | null;
}

export interface MessageRepository {
  /**
   * Told the fingerprints of the messages this transaction is about to insert, all at once, so
   * that an implementation can look them up in one statement rather than one per message.
   */
  expect(fingerprints: readonly string[]): Promise<void>;
  /** Inserts the message unless one with the same fingerprint exists; returns its id or null. */
  insertIfNew(message: NewMessage): Promise<number | null>;
  /** Counts one more delivery of a known message; returns its id. */
  recordDuplicate(fingerprint: string, at: string): Promise<number | null>;
  setStatus(id: number, status: MessageStatus): Promise<void>;
}

export interface CampaignRepository {
  /** Creates a direct campaign with this id if none exists. */
  ensure(id: string, at: string): Promise<void>;
  /** `ensure` for several campaigns in one statement, in id order (see `ContactRepository.lockKeys`). */
  ensureAll(campaigns: ReadonlyArray<{ readonly id: string; readonly at: string }>): Promise<void>;
}

export interface ContactRepository {
  /**
   * Serialises this transaction with every other one that names any of these contact keys,
   * whether the contacts exist yet or not, until it ends. The keys are locked in one global
   * order, so two transactions that name the same contacts in different orders wait for each
   * other instead of deadlocking. (A no-op where the database has a single writer.)
   */
  lockKeys(keys: readonly string[]): Promise<void>;
  /** Contacts with this VERP contact key, locked for the rest of the transaction. */
  lockByKey(key: string): Promise<ContactRecord[]>;
  lockByEmail(email: string): Promise<ContactRecord | null>;
  /** The contact with this id, not locked (to learn its key, then lock it with `lockKeys`). */
  findById(id: number): Promise<ContactRecord | null>;
  /** Creates the contact if missing (never touching an existing one) and returns it, locked. */
  ensure(email: string, key: string, at: string): Promise<ContactRecord>;
  update(id: number, update: ContactUpdate): Promise<void>;
}

export interface SendRecord {
  readonly campaignId: string;
  readonly contactId: number;
  readonly sentAt: string;
  /** The Message-ID header of the email sent, if the send pipeline gave it. */
  readonly messageId: string | null;
}

export interface SendRepository {
  /** Records that a campaign was sent to a contact (idempotent: a second record keeps the first). */
  record(send: SendRecord): Promise<void>;
  /** The send whose email had this Message-ID (angle brackets optional), if recorded. */
  findByMessageId(messageId: string): Promise<SendRecord | null>;
}

export interface BounceRepository {
  insert(bounce: NewBounce): Promise<number>;
}

export interface SuppressionRepository {
  /** Adds a suppression unless the contact already has one for this reason. */
  add(contactId: number, email: string, reason: SuppressionReason, bounceId: number | null, at: string): Promise<void>;
  remove(contactId: number, reasons: readonly SuppressionReason[]): Promise<number>;
}

export interface ContactEventRepository {
  insert(event: NewContactEvent): Promise<void>;
}

/** The repositories, bound to one transaction. */
export interface Repositories {
  readonly messages: MessageRepository;
  readonly campaigns: CampaignRepository;
  readonly contacts: ContactRepository;
  readonly sends: SendRepository;
  readonly bounces: BounceRepository;
  readonly suppressions: SuppressionRepository;
  readonly events: ContactEventRepository;
}

export interface TransactionOptions {
  /**
   * When the work was handed in (epoch ms; default: now). On SQLite, the wait for another
   * process's write lock, retries included, ends at this time plus the busy timeout.
   */
  readonly since?: number;
}

export interface UnitOfWork {
  /** Runs `work` in one database transaction; everything commits or nothing does. */
  transaction<T>(work: (repos: Repositories) => Promise<T>, options?: TransactionOptions): Promise<T>;
}
