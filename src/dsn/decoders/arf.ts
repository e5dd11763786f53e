import { parseFieldGroups } from '../fields.js';
import { collectHeaders, firstAddress, splitHeaderLines } from '../mime.js';
import { quotedHeaders } from '../original.js';
import type { Decoder, RawRecipient, ReportKind } from '../types.js';

/**
 * ARF feedback reports (RFC 5965, `report-type=feedback-report`): a mailbox provider tells us a
 * recipient marked the message as spam. A complaint (the contact is suppressed with reason
 * `complaint`), never a bounce. The recipient is `Original-Rcpt-To` (or the older
 * `Removal-Recipient`), else the `To:` of the returned original or headers (folded or not; a
 * redacted one is skipped), else the `To:` of headers quoted in the text. `not-spam` and `auth-failure` (RFC 6591 authentication
 * failure reports) are not complaints about the contact: recorded as `unknown`.
 */
const NOT_COMPLAINTS = new Set(['not-spam', 'auth-failure', 'dkim', 'dmarc']);

export const arf: Decoder = {
  name: 'arf',
  decode(mail) {
    if (mail.reportType !== 'feedback-report' && mail.feedbackReports.length === 0) return null;
    const fields = new Map<string, string[]>();
    // A feedback report sent as text (no message/feedback-report part): its fields are in the text.
    const bodies = mail.feedbackReports.length > 0 ? mail.feedbackReports : [feedbackFieldsInText(mail.text)];
    for (const body of bodies) {
      for (const group of parseFieldGroups(body)) for (const [k, v] of group) fields.set(k, [...(fields.get(k) ?? []), v]);
      // Original-Rcpt-To may be repeated: parseFieldGroups keeps the first, so read them all.
      for (const m of body.matchAll(/^(?:original-rcpt-to|removal-recipient):[ \t]*(.+)$/gim)) {
        const list = fields.get('original-rcpt-to*') ?? [];
        list.push(m[1]!.trim());
        fields.set('original-rcpt-to*', list);
      }
    }
    const type = (fields.get('feedback-type')?.[0] ?? 'abuse').trim().toLowerCase();
    const kind: ReportKind = NOT_COMPLAINTS.has(type) ? 'unknown' : 'complaint';
    const addresses = (fields.get('original-rcpt-to*') ?? []).map((v) => firstAddress(v)).filter((a): a is string => a !== null);
    if (addresses.length === 0) {
      const to = originalTo(mail.originalHeaders) ?? originalTo(quotedHeaders(mail.text));
      if (to) addresses.push(to);
    }
    const text = `Feedback-Type: ${type}`;
    const recipients: RawRecipient[] = (addresses.length > 0 ? [...new Set(addresses)] : [null]).map((recipient) => ({ recipient, action: null, text }));
    return {
      kind,
      recipients,
      reportingMta: fields.get('reporting-mta')?.[0]?.replace(/^dns;\s*/i, '').trim() || (fields.get('user-agent')?.[0]?.trim() ?? null),
      arrivalDate: fields.get('arrival-date')?.[0]?.trim() ?? fields.get('received-date')?.[0]?.trim() ?? null,
    };
  },
};

/** The first `To:` address of the returned originals' headers that is not redacted. */
function originalTo(blocks: readonly string[]): string | null {
  for (const block of blocks) {
    for (const value of collectHeaders(splitHeaderLines(block)).get('to') ?? []) {
      const a = firstAddress(value);
      if (a && !/redacted|^x+@|^[*#]+@/i.test(a)) return a;
    }
  }
  return null;
}

/** The `Feedback-Type:` block of a text (a report without a message/feedback-report part). */
function feedbackFieldsInText(text: string): string {
  const at = text.search(/^feedback-type:/im);
  return at < 0 ? '' : text.slice(at, at + 8 * 1024);
}

