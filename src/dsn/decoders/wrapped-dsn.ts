import { readDsnBodies } from '../dsn-fields.js';
import type { Decoder } from '../types.js';
import { perMessageFields } from './common.js';

/**
 * A notification service that sends a delivery report on, attached as message/rfc822, to the
 * group `To: NotificationRecipients` under the name "Mail Delivery Subsystem" (often written as a
 * base64 ISO-2022-JP encoded word). The recipients are those of the attached report's
 * message/delivery-status part; the wrapper's own text says nothing about them.
 */
const DSN_PART = /^content-type:[ \t]*message\/delivery-status/im;
const NAME = /mail delivery subsystem|TWFpbCBEZWxpdmVyeSBTdWJzeXN0ZW0/i;

/** The body of the first message/delivery-status part written inside a raw message. */
function deliveryStatusIn(raw: Buffer): string | null {
  const text = raw.subarray(0, 256 * 1024).toString('latin1');
  const m = DSN_PART.exec(text);
  if (!m) return null;
  const rest = text.slice(m.index, m.index + 32 * 1024);
  const blank = /\r?\n\r?\n/.exec(rest);
  if (!blank) return null;
  const body = rest.slice(blank.index + blank[0].length);
  const end = /^--/m.exec(body);
  return end ? body.slice(0, end.index) : body;
}

export const wrappedDsn: Decoder = {
  name: 'wrapped-dsn',
  decode(mail) {
    if (mail.embedded.length === 0 || mail.deliveryStatus.length > 0) return null;
    if (!(mail.headers.get('to') ?? []).some((v) => v.includes('NotificationRecipients'))) return null;
    if (!(mail.headers.get('from') ?? []).some((v) => NAME.test(v)) && !NAME.test(mail.subject)) return null;
    for (const inner of mail.embedded.slice(0, 3)) {
      const body = deliveryStatusIn(inner);
      const dsn = body ? readDsnBodies([body]) : null;
      if (dsn && dsn.recipients.length > 0) return { recipients: dsn.recipients, ...perMessageFields(dsn) };
    }
    return null;
  },
};
