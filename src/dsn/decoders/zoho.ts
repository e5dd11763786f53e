import { ADDRESS, bounceLike, fromDomain, headerMatches, mentions, textFormat } from './common.js';

/**
 * Zoho Mail: "This message was created automatically by mail delivery software." (from
 * mailer-daemon@...zoho.com) with one line per address: `address, ERROR CODE :550 - reason`, or
 * `address Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1 ...`.
 */
export const zoho = textFormat({
  name: 'zoho',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (fromDomain(mail, /(^|\.)(zoho(mail)?\.[a-z.]+|zohocorp\.com)$/i) || headerMatches(mail, 'x-zohomail', /./) || mail.headers.has('x-zohomail-sender') || (mentions(mail, 'error code') && /ERROR CODE\s*:\s*[45]\d\d\s*-/.test(mail.head))),
  start: /(could not be delivered to one or more of\s+its\s+recipients|has not yet been delivered to one or more of\s+its\s+recipients)[^\n]*(?:\n|$)/i,
  end: /^[ \t]*(-{3,}|received:|original message)/im,
  // `address, ERROR CODE :550 - ...`, `address Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1 ...`
  // and `[Status: Error, Address: <address>, ResponseCode 421, , Host not reachable.]`.
  intro: new RegExp(String.raw`^[ \t]*(?:\[status:[ \t]*\w{1,20},[ \t]*address:[ \t]*)?<?(${ADDRESS})>?(?:[ \t]*[,:]|[ \t]+\S)`, 'i'),
  phrases: [[/\bhost not reachable/i, '4.1']],
});
