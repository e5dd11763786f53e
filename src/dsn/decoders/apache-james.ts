import { ADDRESS, cleanAddress, headerMatches, mentions, textFormat, type RecipientBlock } from './common.js';

/**
 * Apache James: subject "[BOUNCE]", a `JAMES SMTP Server` Received line or a JavaMail
 * Message-ID; qmail's opening words ("Hi. This is the James mail server at host. I'm afraid I
 * wasn't able to deliver your message ..."), "Failed recipient(s):" and the addresses, the
 * reason under "Error message below:" (or "Error message:"), then "Message details:" with
 * `RCPT TO: address` lines. The reason is written once for all the failed recipients.
 */
const LISTED = new RegExp(String.raw`^[ \t]*(?:RCPT TO:[ \t]*)?<?(${ADDRESS})>?[ \t]*$`, 'i');

export const apacheJames = textFormat({
  name: 'apache-james',
  detect: (mail) =>
    (mail.subject.trim() === '[BOUNCE]' || !!mail.messageId?.includes('.JavaMail.') || headerMatches(mail, 'received', /JAMES SMTP Server/)) &&
    (mentions(mail, 'this is the james mail server') || (mentions(mail, 'error message') && mentions(mail, 'message details:'))),
  blocks: (text, exclude) => {
    const reason = /error message(?: below)?:[ \t]*\n([\s\S]{0,2000}?)(?:\n[ \t]*message details:|$)/i.exec(text)?.[1]?.trim() || text.slice(0, 4000);
    const failed = /failed recipient\(s\):[ \t]*\n([\s\S]{0,4000}?)(?:\n[ \t]*\n|$)/i.exec(text)?.[1] ?? '';
    const details = /message details:[ \t]*\n([\s\S]{0,4000})/i.exec(text)?.[1] ?? '';
    const rcpt = details.split('\n').filter((l) => /^[ \t]*rcpt to:/i.test(l));
    const found: string[] = [];
    for (const line of [...failed.split('\n'), ...rcpt]) {
      if (line.length > 1000) continue;
      const m = LISTED.exec(line);
      const a = m ? cleanAddress(m[1]!) : null;
      if (a && !exclude.has(a) && !found.includes(a) && found.length < 100) found.push(a);
    }
    return found.map((recipient): RecipientBlock => ({ recipient, text: reason }));
  },
});
