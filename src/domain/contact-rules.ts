import type { BounceType } from './status-table.js';

/**
 * The contact state machine from the seed, as a pure function.
 *
 * - a hard bounce marks the contact `bounced` at once;
 * - soft bounces mark it `bounced` once they come from `softThreshold` distinct campaigns in a
 *   row; several soft bounces of one campaign count once;
 * - a delivery signal (DSN `Action: delivered`/`relayed`, or the send pipeline) ends the row;
 * - a delay is recorded and never counts;
 * - a complaint suppresses the contact (reason `complaint`) without touching its bounce state;
 * - nothing here ever clears `bounced`: only an operator does (see `unbounce`).
 */

export type ContactState = 'active' | 'bounced';
export type BouncedReason = 'hard_bounce' | 'soft_bounces';
export type SuppressionReason = BouncedReason | 'complaint';

export interface ContactSnapshot {
  readonly state: ContactState;
  /** Campaigns of the current run of soft bounces, oldest first. */
  readonly softCampaigns: readonly string[];
  readonly complained: boolean;
}

export type Signal =
  | { readonly kind: 'bounce'; readonly type: BounceType; readonly campaignId: string }
  | { readonly kind: 'delay' }
  | { readonly kind: 'delivery' }
  | { readonly kind: 'complaint' };

export type ContactEventName =
  | 'soft_bounce_counted'
  | 'bounced'
  | 'streak_reset'
  | 'complained'
  | 'unbounced';

export interface ContactEvent {
  readonly event: ContactEventName;
  readonly fromState: ContactState;
  readonly toState: ContactState;
  readonly detail: string;
}

export interface RuleOutcome {
  readonly next: ContactSnapshot;
  /** Did this signal count toward the rules (a hard bounce, or a soft bounce of a new campaign)? */
  readonly counted: boolean;
  readonly events: readonly ContactEvent[];
  /** A suppression to add, if any. */
  readonly suppress: SuppressionReason | null;
}

export const DEFAULT_SOFT_THRESHOLD = 3;

export function applySignal(contact: ContactSnapshot, signal: Signal, softThreshold = DEFAULT_SOFT_THRESHOLD): RuleOutcome {
  const from = contact.state;
  const unchanged = (counted = false): RuleOutcome => ({ next: contact, counted, events: [], suppress: null });

  switch (signal.kind) {
    case 'delay':
      return unchanged();

    case 'delivery': {
      if (contact.softCampaigns.length === 0) return unchanged();
      return {
        next: { ...contact, softCampaigns: [] },
        counted: false,
        events: [{ event: 'streak_reset', fromState: from, toState: from, detail: `delivery after soft bounces on ${contact.softCampaigns.join(', ')}` }],
        suppress: null,
      };
    }

    case 'complaint': {
      if (contact.complained) return unchanged();
      return {
        next: { ...contact, complained: true },
        counted: true,
        events: [{ event: 'complained', fromState: from, toState: from, detail: 'feedback report (complaint)' }],
        suppress: 'complaint',
      };
    }

    case 'bounce': {
      if (from === 'bounced') return unchanged();
      if (signal.type === 'hard') {
        return {
          next: { ...contact, state: 'bounced', softCampaigns: [] },
          counted: true,
          events: [{ event: 'bounced', fromState: from, toState: 'bounced', detail: `hard bounce on campaign ${signal.campaignId}` }],
          suppress: 'hard_bounce',
        };
      }
      // Several soft bounces from one campaign count once.
      if (contact.softCampaigns.includes(signal.campaignId)) return unchanged();
      const streak = [...contact.softCampaigns, signal.campaignId];
      const threshold = Math.max(1, Math.floor(softThreshold));
      if (streak.length >= threshold) {
        return {
          next: { ...contact, state: 'bounced', softCampaigns: [] },
          counted: true,
          events: [{ event: 'bounced', fromState: from, toState: 'bounced', detail: `soft bounces on ${streak.length} distinct campaigns in a row: ${streak.join(', ')}` }],
          suppress: 'soft_bounces',
        };
      }
      return {
        next: { ...contact, softCampaigns: streak },
        counted: true,
        events: [{ event: 'soft_bounce_counted', fromState: from, toState: from, detail: `soft bounce ${streak.length} of ${threshold} (campaign ${signal.campaignId})` }],
        suppress: null,
      };
    }
  }
}

/** The operator's reversal: the only transition out of `bounced`. */
export function unbounce(contact: ContactSnapshot, reason: string, operator: string): RuleOutcome {
  if (!reason.trim()) throw new Error('a reason is required to unbounce a contact');
  if (!operator.trim()) throw new Error('an operator name is required to unbounce a contact');
  if (contact.state !== 'bounced') throw new Error('the contact is not bounced');
  return {
    next: { ...contact, state: 'active', softCampaigns: [] },
    counted: false,
    events: [{ event: 'unbounced', fromState: 'bounced', toState: 'active', detail: `by ${operator.trim()}: ${reason.trim()}` }],
    suppress: null,
  };
}
