import { bounceLike, fromDomain, mentions, textFormat } from './common.js';

/**
 * GMX, Web.de and 1&1 / IONOS: "This message was created automatically by mail delivery
 * software." then `address:` and `SMTP error from remote server for RCPT TO command, host: mx
 * (ip) reason: 550 ...`; the original follows "--- The header of the original message is
 * following. ---".
 */
export const gmx = textFormat({
  name: 'gmx',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (fromDomain(mail, /(^|\.)(gmx\.[a-z.]+|web\.de|1und1\.de|1and1\.[a-z.]+|ionos\.[a-z.]+|kundenserver\.de|perfora\.net|mail\.com)$/i) || mentions(mail, 'the header of the original message is following')),
  start: /(failed:|following address(es|\(es\))? failed:?|to one or more of\s+its\s+recipients[^\n]*)\n/i,
  end: /^[ \t]*-+ ?the header of the original message is following|^[ \t]*-{3,}/im,
});
