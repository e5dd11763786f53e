import { bounceLike, headerMatches, mentions, textFormat } from './common.js';

/**
 * Exchange 2000/2003: "Your message did not reach some or all of the intended recipients.",
 * "The following recipient(s) could not be reached:", then per recipient `address on <date>`,
 * an explanation, and the code as `<mx.example #5.1.1>` or `<mx #5.0.0 smtp;550 5.1.1 ...>`;
 * Exchange 5.5 and 2000: "Your message ... did not reach the following recipient(s):" and
 * `MSEXCH:IMS:... (000C05A6) Unknown Recipient`.
 */
export const exchange2003 = textFormat({
  name: 'exchange2003',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (mentions(mail, 'did not reach some or all of the intended recipients', 'following recipient(s) could not be reached', 'following recipient(s) cannot be reached', 'did not reach the following recipient(s)') ||
      headerMatches(mail, 'x-mimeole', /exchange v6|produced by microsoft exchange/i) ||
      headerMatches(mail, 'x-mailer', /^internet mail service \(|microsoft exchange server internet mail connector/i) ||
      mail.headers.has('x-ms-embedded-report')),
  start: /(?:following recipient\(s\) (?:could not be reached|cannot be reached)|did not reach the following recipient\(s\)):?[^\n]*(?:\n|$)/i,
  // Exchange 5.5 and 2000 name the failure by its MSEXCH code: `MSEXCH:IMS:... (000C05A6)`.
  phrases: [
    [/\(000C05A6\)/i, '1.1'],
    [/\(000C0595\)/i, '1.4'],
    [/\(00010256\)/i, '5.3'],
    [/\(00120270\)/i, '4.6'],
    [/\(00050311\)|\(000502CC\)/i, '6.5'],
  ],
});
