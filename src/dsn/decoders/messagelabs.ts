import { bounceLike, fromDomain, headerMatches, textFormat } from './common.js';
import { reasonIn, withReasons, type ReasonTable } from './reasons.js';

/**
 * Symantec MessageLabs (Symantec.cloud, now Broadcom Email Security.cloud): reports from
 * MAILER-DAEMON@messagelabs.com with subject `Mail Delivery Failure` and an `X-Msg-Ref:
 * server-N.tower-N.messagelabs.com!...` header, whose RFC 3464 part often says `Status: 5.0.0`
 * with the answer in its own words.
 */
const WORDING: ReasonTable = [
  ['no such user', '1.1'],
  ['542 ', '1.1'],
  [' rejected', '1.1'],
  ['please turn on smtp authentication in your mail client', '7.1'],
];

export const messagelabs = withReasons(
  textFormat({
    name: 'messagelabs',
    detect: (mail, context) =>
      bounceLike(mail, context) && (headerMatches(mail, 'x-msg-ref', /messagelabs\.com/i) || (fromDomain(mail, /(^|\.)messagelabs\.com$/i) && /^mail delivery failure/i.test(mail.subject))),
    start: /delivery to the following recipients? failed[^\n]*(?:\n|$)/i,
  }),
  (r) => reasonIn(WORDING, r.diagnostic),
);
