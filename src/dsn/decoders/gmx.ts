import { RCPT_INTRO } from '../text-blocks.js';
import { ADDRESS, bounceLike, cleanAddress, fromDomain, mentions, recipientBlocks, textFormat, type RecipientBlock } from './common.js';

/**
 * GMX, Web.de and 1&1 / IONOS: "This message was created automatically by mail delivery
 * software." then `address:` and `SMTP error from remote server for RCPT TO command, host: mx
 * (ip) reason: 550 ...`; or (1&1) the addresses alone and one reason for them all under "For
 * the following reason:". The original follows "--- The header of the original message is
 * following. ---".
 */
const ALONE = new RegExp(String.raw`^[ \t]*<?(${ADDRESS})>?:?[ \t]*$`);

export const gmx = textFormat({
  name: 'gmx',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (fromDomain(mail, /(^|\.)(gmx\.[a-z.]+|web\.de|1und1\.de|1and1\.[a-z.]+|ionos\.[a-z.]+|kundenserver\.de|perfora\.net|mail\.com)$/i) || mentions(mail, 'the header of the original message is following')),
  start: /(failed:|following address(es|\(es\))? failed:?|to one or more of\s+its\s+recipients[^\n]*)\n/i,
  end: /^[ \t]*-+ ?the header of the original message is following|^[ \t]*-{3,}/im,
  blocks: (text, exclude) => {
    const shared = sharedReason(text, exclude);
    if (shared.length > 0) return shared;
    const blocks = recipientBlocks(text, exclude);
    return blocks.length > 0 ? blocks : recipientBlocks(text, exclude, RCPT_INTRO);
  },
});

/** 1&1's layout: the addresses alone on their lines, then "For the following reason:" for all. */
function sharedReason(text: string, exclude: ReadonlySet<string>): RecipientBlock[] {
  const at = text.search(/^[ \t]*for the following reason:/im);
  if (at < 0) return [];
  const reason = text.slice(at, at + 2000).trim();
  const found: string[] = [];
  for (const line of text.slice(0, at).split('\n')) {
    const m = line.length <= 1000 ? ALONE.exec(line) : null;
    const a = m ? cleanAddress(m[1]!) : null;
    if (a && !exclude.has(a) && !found.includes(a) && found.length < 100) found.push(a);
  }
  return found.map((recipient) => ({ recipient, text: reason }));
}
