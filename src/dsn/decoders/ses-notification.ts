import type { Decoder, RawRecipient, ReportKind } from '../types.js';

/**
 * Amazon SES event notifications delivered by email (a JSON body, possibly wrapped in an SNS
 * envelope whose `Message` is the JSON as a string): `Bounce`, `Complaint`, `Delivery`,
 * `DeliveryDelay`. Each listed recipient keeps its `status`, `action` and `diagnosticCode`.
 */
const MAX_JSON = 512 * 1024;

type Json = Record<string, unknown>;

export const sesNotification: Decoder = {
  name: 'ses-notification',
  decode(mail) {
    const body = mail.text.trim();
    if (!body.startsWith('{') || body.length > MAX_JSON || !/notificationType|eventType/.test(body)) return null;
    let event = parse(body);
    if (event && typeof event['Message'] === 'string') event = parse(event['Message']);
    if (!event) return null;
    const type = String(event['notificationType'] ?? event['eventType'] ?? '');
    const mailInfo = (event['mail'] ?? {}) as Json;
    const base = { reportingMta: null as string | null, originalEnvelopeId: null, arrivalDate: typeof mailInfo['timestamp'] === 'string' ? mailInfo['timestamp'] : null };
    if (type === 'Bounce') {
      const bounce = (event['bounce'] ?? {}) as Json;
      const transient = bounce['bounceType'] === 'Transient';
      const list = Array.isArray(bounce['bouncedRecipients']) ? (bounce['bouncedRecipients'] as Json[]) : [];
      const recipients: RawRecipient[] = list.map((r) => ({
        recipient: str(r['emailAddress'])?.toLowerCase() ?? null,
        action: str(r['action'])?.toLowerCase() ?? 'failed',
        status: str(r['status']) ?? (transient ? '4.0.0' : null),
        diagnostic: str(r['diagnosticCode'])?.replace(/^smtp;\s*/i, '') ?? null,
        text: `bounceType ${str(bounce['bounceType']) ?? ''} ${str(bounce['bounceSubType']) ?? ''}`.trim(),
      }));
      return { ...base, reportingMta: str(bounce['reportingMTA'])?.replace(/^dns;\s*/i, '') ?? null, recipients: recipients.length > 0 ? recipients : [{ recipient: null, action: 'failed' }] };
    }
    const pick = (kind: ReportKind, key: string, listKey: string, action: string | null): { kind: ReportKind; recipients: RawRecipient[] } => {
      const part = (event![key] ?? {}) as Json;
      const list = Array.isArray(part[listKey]) ? (part[listKey] as unknown[]) : [];
      const recipients = list.map((r) => ({ recipient: (typeof r === 'string' ? r : str((r as Json)['emailAddress']))?.toLowerCase() ?? null, action, text: null }));
      return { kind, recipients };
    };
    if (type === 'Complaint') return { ...base, ...pick('complaint', 'complaint', 'complainedRecipients', null) };
    if (type === 'Delivery') return { ...base, ...pick('delivery', 'delivery', 'recipients', 'delivered') };
    if (type === 'DeliveryDelay') return { ...base, ...pick('delay', 'deliveryDelay', 'delayedRecipients', 'delayed') };
    return null;
  },
};

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
