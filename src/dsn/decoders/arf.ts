import { parseFieldGroups } from '../fields.js';
import { firstAddress } from '../mime.js';
import type { Decoder, RawRecipient, ReportKind } from '../types.js';

/**
 * ARF feedback reports (RFC 5965, `report-type=feedback-report`): a mailbox provider tells us a
 * recipient marked the message as spam. A complaint (the contact is suppressed with reason
 * `complaint`), never a bounce. The recipient is `Original-Rcpt-To`, else the `To:` of the
 * returned original (often redacted). `not-spam` and `auth-failure` (RFC 6591 authentication
 * failure reports) are not complaints about the contact: recorded as `unknown`.
 */
const NOT_COMPLAINTS = new Set(['not-spam', 'auth-failure', 'dkim', 'dmarc']);

export const arf: Decoder = {
  name: 'arf',
  decode(mail) {
    if (mail.reportType !== 'feedback-report' && mail.feedbackReports.length === 0) return null;
    const fields = new Map<string, string[]>();
    for (const body of mail.feedbackReports) {
      for (const group of parseFieldGroups(body)) for (const [k, v] of group) fields.set(k, [...(fields.get(k) ?? []), v]);
      // Original-Rcpt-To may be repeated: parseFieldGroups keeps the first, so read them all.
      for (const m of body.matchAll(/^original-rcpt-to:[ \t]*(.+)$/gim)) {
        const list = fields.get('original-rcpt-to*') ?? [];
        list.push(m[1]!.trim());
        fields.set('original-rcpt-to*', list);
      }
    }
    const type = (fields.get('feedback-type')?.[0] ?? 'abuse').trim().toLowerCase();
    const kind: ReportKind = NOT_COMPLAINTS.has(type) ? 'unknown' : 'complaint';
    const addresses = (fields.get('original-rcpt-to*') ?? []).map((v) => firstAddress(v)).filter((a): a is string => a !== null);
    if (addresses.length === 0) {
      const to = mail.originalHeaders.map((h) => /^to:[ \t]*(.+)$/im.exec(h)?.[1]).map((v) => firstAddress(v)).find((a) => a !== null && !/redacted|^x+@/i.test(a));
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
