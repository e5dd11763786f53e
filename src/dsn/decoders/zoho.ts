import { bounceLike, fromDomain, headerMatches, mentions, textFormat } from './common.js';

/**
 * Zoho Mail: "This message was created automatically by mail delivery software." (from
 * mailer-daemon@...zoho.com) with one line per address, `address, ERROR CODE :550 - reason`.
 */
export const zoho = textFormat({
  name: 'zoho',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (fromDomain(mail, /(^|\.)(zoho(mail)?\.[a-z.]+|zohocorp\.com)$/i) || headerMatches(mail, 'x-zohomail', /./) || mail.headers.has('x-zohomail-sender') || (mentions(mail, 'error code') && /ERROR CODE\s*:\s*[45]\d\d\s*-/.test(mail.head))),
  start: /(could not be delivered to one or more of\s+its\s+recipients|has not yet been delivered to one or more of\s+its\s+recipients)[^\n]*(?:\n|$)/i,
  end: /^[ \t]*(-{3,}|received:|original message)/im,
});
