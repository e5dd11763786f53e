import { bounceLike, fromDomain, headerMatches, textFormat } from './common.js';

/**
 * Bigfoot (forwarding addresses): Sendmail reports from bigfoot.com hosts, with an RFC 3464
 * part and the transcript (`>>> RCPT TO:<address>`, `<<< 553 Invalid recipient ...`); the
 * original comes back as message/partial.
 */
export const bigfoot = textFormat({
  name: 'bigfoot',
  detect: (mail, context) => (fromDomain(mail, /(^|\.)bigfoot\.com$/i) || headerMatches(mail, 'received', /\.bigfoot\.com\s/i)) && bounceLike(mail, context),
  start: /(?<!-)-+ ?the following addresses had (permanent fatal|transient non-fatal) errors|(?<!-)-+ ?transcript of session follows/i,
});
