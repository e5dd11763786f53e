import { applySignal, type ContactState, type SuppressionReason } from '../domain/contact-rules.js';
import { checkCampaignId, contactKey, encodeReturnPath, normaliseEmail, type VerpSettings } from '../domain/verp.js';
import type { Logger } from '../logger.js';
import type { UnitOfWork } from '../storage/repositories.js';
import type { SendStore } from '../storage/stores.js';
import type { SuppressionService } from './suppression.js';

/**
 * What the send pipeline does through rebond: register automations and campaigns, register
 * contacts, make the signed return path of each send and record it (the denominator of the
 * campaign reports), check the suppression list, and report deliveries (which end a row of soft
 * bounces). Nothing here ever clears `bounced` or removes a suppression.
 */

export interface AutomationInput {
  readonly id: string;
  readonly name?: string | null;
}

export interface CampaignInput {
  /** Lowercase letters, digits, `_` and `-` (it goes into return paths). */
  readonly id: string;
  readonly name?: string | null;
  /** The automation it belongs to; omit to leave it as it is, `null` to make it direct. */
  readonly automationId?: string | null;
}

export interface SendInput {
  readonly campaignId: string;
  readonly email: string;
  /** The Message-ID header of the email sent (helps identify bounces that lost the return path). */
  readonly messageId?: string | null;
  readonly sentAt?: Date | string;
  /** Bounce domain of the return path (default: the first configured one). */
  readonly domain?: string;
}

export interface SendReceipt {
  readonly campaignId: string;
  /** The address, normalised. */
  readonly email: string;
  /** The signed VERP return path to put in the envelope sender (MAIL FROM) of this email. */
  readonly returnPath: string;
  /** True when the contact must not be mailed: the send was recorded, but should not happen. */
  readonly suppressed: boolean;
  readonly reasons: SuppressionReason[];
}

export interface ContactStatus {
  readonly email: string;
  readonly state: ContactState;
  readonly suppressed: boolean;
  readonly reasons: SuppressionReason[];
}

export interface DeliveryInput {
  readonly email: string;
  /** The campaign that was delivered (recorded in the audit trail). */
  readonly campaignId?: string | null;
  readonly at?: Date | string;
}

export interface DeliveryResult {
  /** False when rebond does not know the address (nothing to reset). */
  readonly known: boolean;
  /** True when a row of soft bounces was ended. */
  readonly streakReset: boolean;
}

export interface SendPipelineOptions {
  readonly verp: VerpSettings;
  readonly uow: UnitOfWork;
  readonly sends: SendStore;
  readonly suppressions: SuppressionService;
  readonly softThreshold: number;
  readonly logger: Logger;
}

export const PIPELINE_ACTOR = 'send-pipeline';

export class SendPipeline {
  private readonly logger: Logger;

  constructor(private readonly options: SendPipelineOptions) {
    this.logger = options.logger.child('pipeline');
  }

  /** The signed return path for (campaign, contact); pure, nothing is recorded. */
  returnPath(campaignId: string, email: string, domain?: string): string {
    return encodeReturnPath(this.options.verp, campaignId, email, domain);
  }

  async registerAutomation(input: AutomationInput): Promise<void> {
    const id = checkId(input.id, 'automation');
    await this.options.sends.registerAutomation(id, input.name ?? null, now());
  }

  async registerCampaign(input: CampaignInput): Promise<void> {
    checkCampaignId(input.id, this.options.verp.prefix);
    const automationId = input.automationId === undefined || input.automationId === null ? input.automationId : checkId(input.automationId, 'automation');
    await this.options.sends.registerCampaign(input.id, input.name ?? null, automationId, now());
  }

  /** Registers contacts (creating the missing ones only) and returns their state: never clears anything. */
  async registerContacts(emails: readonly string[]): Promise<ContactStatus[]> {
    const list = [...new Set(emails.map(checkEmail))];
    await this.options.sends.ensureContacts(
      list.map((email) => ({ email, emailKey: contactKey(email) })),
      now(),
    );
    return this.statuses(list);
  }

  /**
   * Makes the return path of each send and records the sends in one transaction (campaigns
   * and contacts are created when missing; a send recorded twice keeps its first record). Each
   * receipt says whether the contact is suppressed: a suppressed contact must not be mailed.
   */
  async recordSends(inputs: readonly SendInput[]): Promise<SendReceipt[]> {
    const at = now();
    const prepared = inputs.map((s) => {
      const email = checkEmail(s.email);
      return {
        campaignId: s.campaignId,
        email,
        emailKey: contactKey(email),
        returnPath: this.returnPath(s.campaignId, email, s.domain),
        sentAt: s.sentAt === undefined ? at : toIso(s.sentAt),
        messageId: s.messageId ?? null,
      };
    });
    await this.options.sends.recordSends(prepared, at);
    const status = new Map((await this.options.suppressions.check(prepared.map((p) => p.email))).map((s) => [s.email, s]));
    return prepared.map((p) => {
      const s = status.get(p.email);
      return { campaignId: p.campaignId, email: p.email, returnPath: p.returnPath, suppressed: s?.suppressed ?? false, reasons: s?.reasons ?? [] };
    });
  }

  /**
   * A successful delivery reported by the send pipeline: it ends the contact's row of soft
   * bounces (audited as `streak_reset` by `send-pipeline`). It never changes `bounced`.
   */
  async reportDelivery(input: DeliveryInput): Promise<DeliveryResult> {
    const email = checkEmail(input.email);
    const at = input.at === undefined ? now() : toIso(input.at);
    const result = await this.options.uow.transaction(async (repos) => {
      const contact = await repos.contacts.lockByEmail(email);
      if (!contact) return { known: false, streakReset: false };
      const outcome = applySignal(contact, { kind: 'delivery' }, this.options.softThreshold);
      if (outcome.events.length === 0) return { known: true, streakReset: false };
      await repos.contacts.update(contact.id, {
        state: outcome.next.state,
        softCampaigns: outcome.next.softCampaigns,
        complained: outcome.next.complained,
        bouncedAt: contact.bouncedAt,
        bouncedReason: contact.bouncedReason,
        bounceId: contact.bounceId,
        updatedAt: now(),
      });
      const campaign = input.campaignId ? ` (campaign ${input.campaignId})` : '';
      for (const e of outcome.events) {
        await repos.events.insert({ contactId: contact.id, at, event: e.event, fromState: e.fromState, toState: e.toState, actor: PIPELINE_ACTOR, detail: `${e.detail}, reported by the send pipeline${campaign}`, bounceId: null });
      }
      return { known: true, streakReset: true };
    });
    if (result.streakReset) this.logger.log('info', 'CONTACT_STREAK_RESET', 'delivery reported by the send pipeline', { contact: email, campaign: input.campaignId ?? null });
    return result;
  }

  private async statuses(emails: readonly string[]): Promise<ContactStatus[]> {
    const checks = await this.options.suppressions.check(emails);
    const states = await this.options.sends.states(emails);
    return checks.map((c) => ({ email: c.email, state: states.get(c.email) ?? 'active', suppressed: c.suppressed, reasons: c.reasons }));
  }
}

function now(): string {
  return new Date().toISOString();
}

function toIso(value: Date | string): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`"${String(value)}" is not a date`);
  return d.toISOString();
}

function checkEmail(email: string): string {
  const e = normaliseEmail(String(email ?? ''));
  if (!/^[^@\s]+@[^@\s]+$/.test(e) || e.length > 320) throw new Error(`"${email}" is not an email address`);
  return e;
}

function checkId(id: string, what: string): string {
  const v = String(id ?? '').trim();
  if (!v || v.length > 64) throw new Error(`${what} id must be 1 to 64 characters`);
  return v;
}
