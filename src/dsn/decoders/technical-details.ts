import { bounceLike, mentions, textFormat } from './common.js';
import { reasonIn, withReasons, type ReasonTable } from './reasons.js';

/**
 * A gateway's report framed by lines of `=`: from "Mail Delivery System", subject `Delivery
 * status notification: error`, "This is an automatically generated Delivery Status
 * Notification.", "Delivery to the following recipients failed permanently:" with `* address`
 * lines, then "Technical details:" with `SMTP:RCPT host 192.0.2.8: 553 ...`, `Routing: Could
 * not find a gateway for ...` or `Diagnostic-Code: smtp; 552 ...`.
 */
const WORDING: ReasonTable = [['could not find a gateway for', '4.4']];

export const technicalDetails = withReasons(
  textFormat({
    name: 'technical-details',
    detect: (mail, context) =>
      /^delivery status notification/i.test(mail.subject) &&
      mentions(mail, 'this is an automatically generated delivery status notification') &&
      /^[ \t]*technical details:[ \t]*$/im.test(mail.head) &&
      bounceLike(mail, context),
    start: /following recipients failed[^\n]*(?:\n|$)/i,
    end: /^[ \t]*-{2,}[ \t]*original message/im,
  }),
  (r) => reasonIn(WORDING, r.text),
);
