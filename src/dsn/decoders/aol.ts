import { bounceLike, fromDomain, textFormat } from './common.js';

/**
 * AOL and Verizon (aol.com, aim.com, verizon.net): reports from their daemons, in the classic
 * AOL layout (`Your mail to the following recipients could not be delivered ...`) or the
 * sendmail-like one (`----- The following addresses had permanent fatal errors -----`); the
 * per-address blocks carry the answer.
 */
export const aol = textFormat({
  name: 'aol',
  detect: (mail, context) => bounceLike(mail, context) && fromDomain(mail, /(^|\.)(aol\.[a-z.]+|aim\.com|verizon\.net|cs\.com|netscape\.net)$/i),
  start: /(following recipients? could not be delivered[^\n]*|following addresses had (permanent fatal|transient non-fatal) errors ?-*|could not be delivered to the following recipients?:?)\n/i,
  end: /^[ \t]*-+ ?(original message follows|transcript of session follows|below this line)/im,
});
