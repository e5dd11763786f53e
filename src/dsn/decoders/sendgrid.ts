import type { Decoder } from '../types.js';
import { ADDRESS, bounceLike, cleanAddress, headerMatches, mentions, textFormat, type RecipientBlock } from './common.js';
import { refine } from './reasons.js';

/**
 * SendGrid: "This is an automatically generated message from SendGrid." (Return-Path
 * `apps@sendgrid.net`, subject `Undelivered Mail Returned to Sender`), one line per recipient
 * `account:id:<address> : sending IP : mx:[IP] :` with the answer indented below it (`550 5.1.1
 * ... in RCPT TO`), and an RFC 3464 part whose `Action: expired` marks a message it gave up
 * retrying (recorded as failed; a generic `4.0.0` then means 4.4.7, delivery time expired).
 */
const LINE = new RegExp(String.raw`^[^\s<>]{0,80}:<(${ADDRESS})>[ \t]*:`);

function blocks(text: string, exclude: ReadonlySet<string>): RecipientBlock[] {
  const out: { recipient: string; lines: string[] }[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    const m = line.length < 1000 ? LINE.exec(line) : null;
    const address = m ? cleanAddress(m[1]!) : null;
    if (address && !exclude.has(address)) out.push({ recipient: address, lines: [line] });
    else if (out.length > 0 && /^[ \t]+\S/.test(line) && out[out.length - 1]!.lines.length < 20) out[out.length - 1]!.lines.push(line.trim());
  }
  return out.map((b) => ({ recipient: b.recipient, text: b.lines.join('\n') }));
}

const reader = textFormat({
  name: 'sendgrid',
  detect: (mail, context) =>
    (mentions(mail, 'automatically generated message from sendgrid') || headerMatches(mail, 'return-path', /<apps@sendgrid\.net>/i)) && bounceLike(mail, context),
  start: /automatically generated message from sendgrid\.?[^\n]*(?:\n|$)/i,
  blocks,
});

export const sendgrid: Decoder = {
  name: reader.name,
  decode(mail, context) {
    const decoded = reader.decode(mail, context);
    if (!decoded) return null;
    return { ...decoded, recipients: decoded.recipients.map((r) => (r.action === 'expired' ? refine({ ...r, action: 'failed' }, '4.7') : refine(r, null, true))) };
  },
};
