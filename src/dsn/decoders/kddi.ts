import type { Decoder, RawRecipient } from '../types.js';
import { ADDRESS, bounceLike, cleanAddress, fromDomain, headerMatches, mentions } from './common.js';

/**
 * au by KDDI (dion.ne.jp, au.com relays): one paragraph per recipient, "Your mail sent on:
 * <date>" (or "Your mail attempted to be delivered on:"), then indented "Could not be delivered
 * to: <address>" and the reason in KDDI's words, without a code. `X-SPASIGN: NG` marks a message
 * refused by KDDI's spam filter.
 */
const OPENER = new RegExp(String.raw`could not be delivered to:[ \t]*<(${ADDRESS})>`, 'i');

/** KDDI's reasons, as the code that means the same thing. */
const REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bin reply to (?:the )?RCPT\b|>>> ?RCPT\b/i, '5.1.1'],
  [/as their mailbox is full/i, '5.2.2'],
  [/due to the following smtp relay error/i, '5.7.1'],
  [/as the remote domain doesn'?t exist/i, '5.1.2'],
];

export const kddi: Decoder = {
  name: 'kddi',
  decode(mail, context) {
    if (!mentions(mail, 'could not be delivered to: <') || !mentions(mail, 'your mail sent on:', 'your mail attempted to be delivered on:')) return null;
    const byHost =
      (mail.from !== null && mail.from.startsWith('no-reply@') && fromDomain(mail, /(^|\.)dion\.ne\.jp$/i)) ||
      headerMatches(mail, 'reply-to', /no-reply@app\.auone-net\.jp/i) ||
      headerMatches(mail, 'received', /ezweb\.ne\.jp \(|\.au\.com \(/i);
    if (!byHost || !bounceLike(mail, context)) return null;
    const filtered = headerMatches(mail, 'x-spasign', /^\s*NG\b/i);
    const recipients: RawRecipient[] = [];
    let current: { recipient: string; lines: string[] } | null = null;
    const flush = (): void => {
      if (!current) return;
      const text = current.lines.join('\n').trim();
      const status = filtered ? '5.7.1' : (REASONS.find(([re]) => re.test(text))?.[1] ?? null);
      recipients.push({ recipient: current.recipient, action: 'failed', status, text });
      current = null;
    };
    for (const line of mail.head.split('\n')) {
      if (line.length > 1000) continue;
      const opened = line.includes('@') ? OPENER.exec(line) : null;
      const address = opened ? cleanAddress(opened[1]!) : null;
      if (address) {
        flush();
        if (recipients.length < 100) current = { recipient: address, lines: [] };
      } else if (/^your mail (sent|attempted)/i.test(line) || /^-{2,}|^content-type:/i.test(line)) flush();
      else if (current && /^[ \t]/.test(line)) current.lines.push(line.trim());
    }
    flush();
    return recipients.length > 0 ? { recipients } : null;
  },
};
