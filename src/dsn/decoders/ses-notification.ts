import type { Decoder, RawRecipient, ReportKind } from '../types.js';

/**
 * Amazon SES event notifications delivered by email: a JSON body (raw, or an SNS envelope whose
 * `Message` is the JSON as a string; the plain "email" protocol of SNS adds an unsubscribe
 * footer after it; it may come as an application/json part): `Bounce`, `Complaint`, `Delivery`,
 * `DeliveryDelay` (as `notificationType`, or `eventType` for event publishing). Each listed
 * recipient keeps its `status`, `action` and `diagnosticCode`; without a status, the code comes
 * from `bounceType` (Permanent 5, Transient 4) and `bounceSubType` (NoEmail, MailboxFull...). A
 * complaint whose `complaintFeedbackType` is `not-spam` is not a complaint about the contact.
 */
const MAX_JSON = 512 * 1024;

type Json = Record<string, unknown>;

/** The code a bounce sub-type stands for, without its class. */
const SUBTYPE_DETAIL: Readonly<Record<string, string>> = {
  NoEmail: '1.1',
  Suppressed: '1.1',
  OnAccountSuppressionList: '1.1',
  MailboxFull: '2.2',
  MessageTooLarge: '3.4',
  ContentRejected: '7.1',
  AttachmentRejected: '7.1',
};

export const sesNotification: Decoder = {
  name: 'ses-notification',
  decode(mail) {
    const start = mail.text.indexOf('{');
    // The JSON is the body, possibly after a line or two (a BOM, a title): never deep in a text.
    if (start < 0 || start > 1024 || !/notificationType|eventType/.test(mail.text.slice(start, start + MAX_JSON))) return null;
    let event = parse(firstObject(mail.text, start));
    const message = event?.['Message'];
    if (typeof message === 'string') event = parse(firstObject(message, message.indexOf('{')));
    else if (message && typeof message === 'object' && !Array.isArray(message)) event = message as Json;
    if (!event) return null;
    const type = String(event['notificationType'] ?? event['eventType'] ?? '');
    const mailInfo = (event['mail'] ?? {}) as Json;
    const base = { reportingMta: null as string | null, originalEnvelopeId: null, arrivalDate: typeof mailInfo['timestamp'] === 'string' ? mailInfo['timestamp'] : null };
    if (type === 'Bounce') {
      const bounce = (event['bounce'] ?? {}) as Json;
      const bounceType = str(bounce['bounceType']);
      const subType = str(bounce['bounceSubType']);
      const cls = bounceType === 'Transient' ? 4 : bounceType === 'Permanent' ? 5 : null;
      const implied = cls ? `${cls}.${(subType && SUBTYPE_DETAIL[subType]) ?? '0.0'}` : null;
      const list = Array.isArray(bounce['bouncedRecipients']) ? (bounce['bouncedRecipients'] as Json[]) : [];
      const recipients: RawRecipient[] = list.map((r) => ({
        recipient: str(r['emailAddress'])?.toLowerCase() ?? null,
        action: str(r['action'])?.toLowerCase() ?? 'failed',
        status: str(r['status']) ?? implied,
        diagnostic: str(r['diagnosticCode'])?.replace(/^smtp;\s*/i, '') ?? null,
        text: `bounceType ${bounceType ?? ''} ${subType ?? ''}`.trim(),
      }));
      return { ...base, reportingMta: str(bounce['reportingMTA'])?.replace(/^dns;\s*/i, '') ?? null, recipients: recipients.length > 0 ? recipients : [{ recipient: null, action: 'failed', status: implied }] };
    }
    const pick = (kind: ReportKind, key: string, listKey: string, action: string | null, text: string | null = null): { kind: ReportKind; recipients: RawRecipient[] } => {
      const part = (event![key] ?? {}) as Json;
      const list = Array.isArray(part[listKey]) ? (part[listKey] as unknown[]) : [];
      const recipients = list.map((r) => ({ recipient: (typeof r === 'string' ? r : str((r as Json)?.['emailAddress']))?.toLowerCase() ?? null, action, text }));
      return { kind, recipients };
    };
    if (type === 'Complaint') {
      const feedback = str(((event['complaint'] ?? {}) as Json)['complaintFeedbackType'])?.toLowerCase() ?? null;
      const kind: ReportKind = feedback === 'not-spam' ? 'unknown' : 'complaint';
      return { ...base, ...pick(kind, 'complaint', 'complainedRecipients', null, feedback ? `Feedback-Type: ${feedback}` : null) };
    }
    if (type === 'Delivery') return { ...base, ...pick('delivery', 'delivery', 'recipients', 'delivered') };
    if (type === 'DeliveryDelay') return { ...base, ...pick('delay', 'deliveryDelay', 'delayedRecipients', 'delayed') };
    return null;
  },
};

/**
 * The JSON object that starts at `start`, up to its matching brace (strings and escapes
 * skipped), so that a footer after it does not spoil it. One pass, capped.
 */
function firstObject(text: string, start: number): string {
  if (start < 0) return '';
  const end = Math.min(text.length, start + MAX_JSON);
  let depth = 0;
  let inString = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return text.slice(start, i + 1);
  }
  return text.slice(start, end);
}

function parse(text: string): Json | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}
