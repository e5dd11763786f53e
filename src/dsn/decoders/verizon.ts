import { ADDRESS, bounceLike, cleanAddress, headerMatches, textFormat, type RecipientBlock } from './common.js';
import { reasonIn, withReasons, type ReasonTable } from './reasons.js';

/**
 * Verizon Wireless's mail-to-SMS and MMS gateways, which bounce with their own short texts:
 * vtext.com (From post_master@vtext.com) writes `Error: 550 - Requested action not taken: no
 * such user here` and "Message details:" with an indented `RCPT TO: <number>@vtext.com`;
 * vzwpix.com (From sysadmin@<host>.vzwpix.com) writes "Message could not be delivered to
 * mobile." `Error: No valid recipients for this MM`, then "Original Message:" with `To:`.
 */
const WORDING: ReasonTable = [
  ['no valid recipients for this mm', '1.1'],
  ['no such user here', '1.1'],
];

const RCPT = new RegExp(String.raw`^[ \t]{1,8}rcpt to:[ \t]*<?(${ADDRESS})>?[ \t]*$`, 'i');
const TO = new RegExp(String.raw`^to:(?:[^<\n]{0,200}<)?[ \t]*(${ADDRESS})>?[ \t]*$`, 'i');

function blocks(text: string, exclude: ReadonlySet<string>): RecipientBlock[] {
  const lines = text.split(/\r\n|\r|\n/).slice(0, 200);
  const reason = lines.filter((l) => /^error:/i.test(l.trim())).join('\n');
  // vtext names the recipient on its RCPT TO line; vzwpix only in the quoted original's To.
  const pattern = lines.some((l) => RCPT.test(l)) ? RCPT : TO;
  const found: string[] = [];
  for (const line of lines) {
    const m = line.length < 1000 ? pattern.exec(line) : null;
    const a = m ? cleanAddress(m[1]!) : null;
    if (a && !exclude.has(a) && !found.includes(a)) found.push(a);
  }
  return found.map((recipient) => ({ recipient, text: reason }));
}

export const verizon = withReasons(
  textFormat({
    name: 'verizon',
    detect: (mail, context) =>
      (/^post_master@vtext\.com$/i.test(mail.from ?? '') || /^sysadmin@([a-z0-9-]{1,63}\.)?vzwpix\.com$/i.test(mail.from ?? '') || headerMatches(mail, 'received', /\.vtext\.com \(/i)) &&
      /^(error:|message could not be delivered to mobile)/im.test(mail.head) &&
      bounceLike(mail, context),
    end: null,
    blocks,
  }),
  (r) => reasonIn(WORDING, r.text),
);
