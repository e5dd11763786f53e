import { bounceLike, fromDomain, mentions, textFormat } from './common.js';

/**
 * Yahoo Mail: "Sorry, we were unable to deliver your message to the following address." then
 * `<address>:` and the answer (`Remote host said: 550 ...`, `554: delivery error: dd This user
 * doesn't have a yahoo.com account ... [0] - mta1234.mail.ne1.yahoo.com`); newer reports add an
 * RFC 3464 part.
 */
export const yahoo = textFormat({
  name: 'yahoo',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (fromDomain(mail, /(^|\.)(yahoo\.[a-z.]+|yahoodns\.net|ymail\.com|rocketmail\.com|yahoo-inc\.com)$/i) || mentions(mail, 'sorry, we were unable to deliver your message to the following address') || (mentions(mail, 'yahoo.com') && /\.mail\.[a-z0-9]+\.yahoo\.com/i.test(mail.head))),
  start: /unable to deliver your message to the following address(es)?\.?[^\n]*(?:\n|$)/i,
  end: /^[ \t]*-+ ?below this line is a copy of the message/im,
});
