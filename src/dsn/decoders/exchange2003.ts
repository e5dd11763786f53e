import { bounceLike, headerMatches, mentions, textFormat } from './common.js';

/**
 * Exchange 2000/2003: "Your message did not reach some or all of the intended recipients.",
 * "The following recipient(s) could not be reached:", then per recipient `address on <date>`,
 * an explanation, and the code as `<mx.example #5.1.1>` or `<mx #5.0.0 smtp;550 5.1.1 ...>`.
 */
export const exchange2003 = textFormat({
  name: 'exchange2003',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (mentions(mail, 'did not reach some or all of the intended recipients', 'following recipient(s) could not be reached', 'following recipient(s) cannot be reached') || headerMatches(mail, 'x-mimeole', /exchange v6/i)),
  start: /following recipient\(s\) (could not be reached|cannot be reached)[^\n]*(?:\n|$)/i,
});
