import { unbounce, type SuppressionReason } from '../domain/contact-rules.js';
import { normaliseEmail } from '../domain/verp.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ContactRecord, UnitOfWork } from '../storage/repositories.js';
import type { BounceRecord, ContactEventRecord, ContactStore, SuppressionRecord, SuppressionStore } from '../storage/stores.js';
import { pageRequest, type Page, type PageOptions } from './paging.js';

/** An operator's view of one contact, and the operator's one action on it: unbounce. */

export interface ContactView {
  readonly contact: ContactRecord;
  /** Distinct campaigns in the current row of soft bounces, and how many make it bounce. */
  readonly softStreak: number;
  readonly softThreshold: number;
  readonly suppressed: boolean;
  readonly suppressions: SuppressionRecord[];
  /** Campaigns with a recorded send to the contact. */
  readonly sends: number;
  /** Its records (bounces, delays, deliveries, complaints), newest first. */
  readonly history: Page<BounceRecord>;
  /** The audit trail, oldest first. */
  readonly events: Page<ContactEventRecord>;
}

export interface UnbounceResult {
  readonly email: string;
  readonly contactId: number;
  /** Suppressions removed (`hard_bounce`, `soft_bounces`). */
  readonly removed: SuppressionReason[];
  /** Suppressions that stay (`complaint`): the contact is active but still not to be mailed. */
  readonly stillSuppressed: SuppressionReason[];
}

export type OperatorErrorCode = 'invalid' | 'not_found' | 'not_bounced';

/** A refused operator action, with a code the command line and the HTTP API map to a status. */
export class OperatorError extends Error {
  constructor(
    readonly code: OperatorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OperatorError';
  }
}

export interface ContactServiceOptions {
  readonly uow: UnitOfWork;
  readonly contacts: ContactStore;
  readonly suppressions: SuppressionStore;
  readonly softThreshold: number;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

export class ContactService {
  private readonly logger: Logger;

  constructor(private readonly options: ContactServiceOptions) {
    this.logger = options.logger.child('operator');
  }

  async show(email: string, options: { history?: PageOptions; events?: PageOptions } = {}): Promise<ContactView | null> {
    const contact = await this.options.contacts.byEmail(normaliseEmail(email));
    if (!contact) return null;
    const historyPage = pageRequest(options.history);
    const eventsPage = pageRequest(options.events);
    const [suppressions, sends, history, events] = await Promise.all([
      this.options.suppressions.forContact(contact.id),
      this.options.contacts.sendCount(contact.id),
      this.options.contacts.records(contact.id, historyPage),
      this.options.contacts.events(contact.id, eventsPage),
    ]);
    return {
      contact,
      softStreak: contact.softCampaigns.length,
      softThreshold: this.options.softThreshold,
      suppressed: suppressions.length > 0,
      suppressions,
      sends,
      history: { items: history.rows, total: history.total, ...historyPage },
      events: { items: events.rows, total: events.total, ...eventsPage },
    };
  }

  /**
   * The only way out of `bounced`: in one transaction, with the contact's row locked, the
   * contact becomes active with an empty soft streak, its `hard_bounce` and `soft_bounces`
   * suppressions are removed (a `complaint` one stays) and an `unbounced` event records who did
   * it and why. Refused without a reason and an operator name, or for a contact not bounced.
   */
  async unbounce(email: string, reason: string, operator: string): Promise<UnbounceResult> {
    if (!reason?.trim()) throw new OperatorError('invalid', 'a reason is required to unbounce a contact');
    if (!operator?.trim()) throw new OperatorError('invalid', 'an operator name is required to unbounce a contact');
    const address = normaliseEmail(email);
    const at = new Date().toISOString();
    const result = await this.options.uow.transaction(async (repos) => {
      const contact = await repos.contacts.lockByEmail(address);
      if (!contact) throw new OperatorError('not_found', `no contact ${address}`);
      if (contact.state !== 'bounced') throw new OperatorError('not_bounced', `${address} is not bounced (state: ${contact.state})`);
      const outcome = unbounce(contact, reason, operator);
      await repos.contacts.update(contact.id, {
        state: outcome.next.state,
        softCampaigns: outcome.next.softCampaigns,
        complained: outcome.next.complained,
        bouncedAt: null,
        bouncedReason: null,
        bounceId: null,
        updatedAt: at,
      });
      const removable: SuppressionReason[] = ['hard_bounce', 'soft_bounces'];
      const removedCount = await repos.suppressions.remove(contact.id, removable);
      for (const e of outcome.events) {
        await repos.events.insert({ contactId: contact.id, at, event: e.event, fromState: e.fromState, toState: e.toState, actor: operator.trim(), detail: e.detail, bounceId: null });
      }
      return { contact, removedReason: removedCount > 0 ? contact.bouncedReason : null };
    });
    const remaining = await this.options.suppressions.forContact(result.contact.id);
    const removed = (result.removedReason ? [result.removedReason] : []) as SuppressionReason[];
    this.options.metrics?.contactUnbounced();
    this.logger.log('info', 'CONTACT_UNBOUNCED', `unbounced by ${operator.trim()}: ${reason.trim()}`, { contact: address, operator: operator.trim() });
    return { email: address, contactId: result.contact.id, removed, stillSuppressed: remaining.map((s) => s.reason) };
  }
}
