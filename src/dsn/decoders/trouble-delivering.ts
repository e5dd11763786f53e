import { ADDRESS, bounceLike, cleanAddress, mentions, textFormat, type RecipientBlock } from './common.js';

/**
 * A sending service's report with subject `There was an error sending your mail`: "We had
 * trouble delivering your message. Full details follow:", the original's Subject and Date, "N
 * error(s):", then one paragraph per recipient, `SMTP Server <mx> rejected recipient <address>
 * (Error following RCPT command). It responded as follows: [550 5.1.1 User unknown]`, or
 * `The following recipients returned permanent errors: address.`
 */
const REJECTED = new RegExp(String.raw`^smtp server <[^<>\s]{1,255}> rejected recipient <(${ADDRESS})>`, 'i');
const PERMANENT = new RegExp(String.raw`^the following recipients returned permanent errors:[ \t]*<?(${ADDRESS})`, 'i');

function blocks(text: string, exclude: ReadonlySet<string>): RecipientBlock[] {
  const out: { recipient: string; lines: string[] }[] = [];
  for (const line of text.split(/\r\n|\r|\n/).slice(0, 2000)) {
    const m = line.length < 2000 ? (REJECTED.exec(line) ?? PERMANENT.exec(line)) : null;
    const a = m ? cleanAddress(m[1]!) : null;
    if (a && !exclude.has(a)) out.push({ recipient: a, lines: [line] });
    else if (out.length > 0 && line.trim() && out[out.length - 1]!.lines.length < 10) out[out.length - 1]!.lines.push(line);
  }
  return out.map((b) => ({ recipient: b.recipient, text: b.lines.join('\n') }));
}

export const troubleDelivering = textFormat({
  name: 'trouble-delivering',
  detect: (mail, context) =>
    /^there was an error sending your mail/i.test(mail.subject) && mentions(mail, 'we had trouble delivering your message') && bounceLike(mail, context),
  end: /^the attachment contains the original mail headers/im,
  blocks,
});
