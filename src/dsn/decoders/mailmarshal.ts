import { ADDRESS, bounceLike, cleanAddress, mentions, textFormat, type RecipientBlock } from './common.js';

/**
 * Trustwave MailMarshal SMTP (Secure Email Gateway): subject `Undeliverable Mail: "<original
 * subject>"`, "Your message: From: ... Subject: ...", then "Could not be delivered because of"
 * with the reason (`550 5.1.1 User unknown`, or words only), written once for the addresses
 * indented under "The following recipients were affected:", then "Additional Information"
 * (`Remote-MTA: <IP>`).
 */
const INDENTED = new RegExp(String.raw`^[ \t]{2,8}<?(${ADDRESS})>?[ \t]*$`);

function blocks(text: string, exclude: ReadonlySet<string>): RecipientBlock[] {
  const lines = text.split(/\r\n|\r|\n/).slice(0, 500);
  const because = lines.findIndex((l) => /^could not be delivered because of/i.test(l.trim()));
  const affected = lines.findIndex((l) => /^the following recipients were affected/i.test(l.trim()));
  if (affected < 0) return [];
  const reason = (because >= 0 && because < affected ? lines.slice(because + 1, affected) : [])
    .map((l) => l.trim())
    .filter(Boolean)
    .join('\n');
  const remote = lines.find((l) => /^remote-mta:/i.test(l.trim()))?.trim() ?? '';
  const out: RecipientBlock[] = [];
  for (const line of lines.slice(affected + 1)) {
    if (!line.trim()) {
      if (out.length > 0) break;
      continue;
    }
    const m = line.length < 1000 ? INDENTED.exec(line) : null;
    const a = m ? cleanAddress(m[1]!) : null;
    if (!a) break;
    if (!exclude.has(a) && !out.some((b) => b.recipient === a)) out.push({ recipient: a, text: `${reason}\n${remote}`.trim() });
  }
  return out;
}

export const mailmarshal = textFormat({
  name: 'mailmarshal',
  detect: (mail, context) =>
    /^undeliverable mail: "/i.test(mail.subject) && mentions(mail, 'the following recipients were affected') && bounceLike(mail, context),
  end: null,
  blocks,
});
