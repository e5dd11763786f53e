import type { BounceType } from '../domain/status-table.js';
import type { MailView } from './mime.js';
import type { PhraseTable } from './phrases.js';

/**
 * What a message is:
 * - bounce: a delivery failed (permanent or temporary), counted by the contact rules;
 * - delay: a warning that delivery is still being tried, recorded, never counted;
 * - delivery: a success notification (delivered, relayed, expanded), ends a soft streak;
 * - complaint: a feedback report (the recipient marked the message as spam);
 * - autoreply: out-of-office, vacation, challenge/response or any automatic answer;
 * - unknown: none of the above (a human reply, junk), recorded and never counted.
 */
export type ReportKind = 'bounce' | 'delay' | 'delivery' | 'complaint' | 'autoreply' | 'unknown';

/** Where the recorded status code was read. */
export type StatusSource = 'status' | 'diagnostic' | 'text' | 'phrase' | 'provider' | 'default';

/** One recipient as a decoder reads it, before the status code is chosen. */
export interface RawRecipient {
  readonly recipient: string | null;
  readonly originalRecipient?: string | null;
  /** RFC 3464 action, lowercased: failed, delayed, delivered, relayed, expanded. */
  readonly action: string | null;
  /** The `Status:` field, as written. */
  readonly status?: string | null;
  readonly diagnostic?: string | null;
  readonly remoteMta?: string | null;
  readonly lastAttemptDate?: string | null;
  /** Free text about this recipient (for formats without fields); codes are searched in it. */
  readonly text?: string | null;
  /** The format's own wording (its MTA's fixed messages), tried before the general phrases. */
  readonly phrases?: PhraseTable;
}

/** What a decoder returns for a message it recognises. */
export interface Decoded {
  /** Set for messages that are not bounce reports (autoreply, complaint, unknown). */
  readonly kind?: ReportKind;
  readonly recipients: readonly RawRecipient[];
  readonly reportingMta?: string | null;
  readonly originalEnvelopeId?: string | null;
  readonly arrivalDate?: string | null;
}

export interface Decoder {
  /** Stable name, recorded with each result (`format`). */
  readonly name: string;
  /** Returns null for "not mine"; never throws on bad input. */
  decode(mail: MailView, context: DecodeContext): Decoded | null;
}

export interface DecodeContext {
  /** Envelope sender; `''` for the null sender `<>` that bounces use; null when unknown. */
  readonly mailFrom: string | null;
}

export interface RecipientReport {
  readonly recipient: string | null;
  readonly originalRecipient: string | null;
  readonly action: string | null;
  readonly kind: ReportKind;
  /** The recorded code: the most specific one found; 9.1.1 for a bounce without one. */
  readonly status: string | null;
  readonly statusSource: StatusSource | null;
  readonly type: BounceType | null;
  readonly description: string | null;
  readonly diagnostic: string | null;
  readonly remoteMta: string | null;
  readonly lastAttemptDate: string | null;
}

export interface ParsedReport {
  /** The decoder that read the message, or `none`. */
  readonly format: string;
  readonly kind: ReportKind;
  readonly recipients: readonly RecipientReport[];
  readonly reportingMta: string | null;
  readonly originalEnvelopeId: string | null;
  readonly arrivalDate: string | null;
  readonly messageId: string | null;
  readonly from: string | null;
  readonly subject: string;
  /**
   * Header sections of the returned original(s), for identification: message/rfc822 and
   * text/rfc822-headers parts, or the headers quoted in the text of a plain-text bounce.
   */
  readonly originalHeaders: readonly string[];
  /** The Message-IDs of the returned original(s) (our outgoing Message-ID), without brackets. */
  readonly originalMessageIds: readonly string[];
  readonly problems: readonly string[];
}
