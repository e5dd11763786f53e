import type { Decoder, RawRecipient } from '../types.js';
import { enhancedCodes } from '../codes.js';
import { ADDRESS, cleanAddress, fromDomain, headerMatches } from './common.js';

/**
 * au EZweb (ezweb.ne.jp, au.com): "Mail System Error - Returned Mail" from Postmaster@ezweb.ne.jp;
 * a heading that gives the reason in au's words ("The user(s) account is disabled.", "... is
 * temporarily over quota.", "Your message was not delivered within 0 days and 1 hours.", "Each
 * of the following recipients was rejected by a remote mail server."), then each recipient as
 * `<address>`, `<address>: 550 ...` or `Recipient: <address>` with a `>>>`/`<<<` transcript. A
 * refusal at RCPT TO is an unknown user whatever the heading says; `X-SPASIGN: NG` marks a
 * message refused by au's spam filter.
 */
const OPENER = new RegExp(String.raw`^(?:[ \t]+Recipient:[ \t]*)?<(${ADDRESS})>`, 'i');

const HEADINGS: ReadonlyArray<readonly [RegExp, string]> = [
  [/account is temporarily over quota/i, '5.2.2'],
  [/account is disabled|account is temporarily limited/i, '5.2.1'],
  [/was not delivered within \d{1,4} days/i, '5.4.7'],
];

/** At least two of au's markers: its sender, its subject, its Received and Message-ID hosts. */
function isEzweb(mail: Parameters<Decoder['decode']>[0]): boolean {
  let score = 0;
  if (fromDomain(mail, /^(ezweb\.ne\.jp|au\.com)$/i) && mail.from?.startsWith('postmaster@')) score++;
  if (mail.subject === 'Mail System Error - Returned Mail') score++;
  if (headerMatches(mail, 'received', /ezweb\.ne\.jp \(EZweb Mail\) with|\.au\.com \(/i)) score++;
  if (mail.messageId && /\.(ezweb\.ne\.jp|au\.com)>?$/i.test(mail.messageId)) score++;
  return score >= 2;
}

export const ezweb: Decoder = {
  name: 'ezweb',
  decode(mail) {
    if (!isEzweb(mail)) return null;
    const filtered = headerMatches(mail, 'x-spasign', /^\s*NG\b/i);
    const found: Array<{ recipient: string; lines: string[] }> = [];
    const heading: string[] = [];
    for (const line of mail.head.split('\n')) {
      if (line.length > 1000) continue;
      if (/^-{20,}|^content-type:[ \t]*message\/rfc822/i.test(line)) break;
      const m = line.includes('@') ? OPENER.exec(line) : null;
      const address = m ? cleanAddress(m[1]!) : null;
      if (address && found.length < 100) found.push({ recipient: address, lines: [line.trim()] });
      else if (found.length > 0 && /^[ \t]+\S/.test(line)) found[found.length - 1]!.lines.push(line.trim());
      else if (line.trim()) heading.push(line.trim());
    }
    if (found.length === 0) return null;
    const shared = heading.join(' ').slice(0, 2000);
    const recipients = found.map(({ recipient, lines }): RawRecipient => {
      const own = lines.join('\n');
      return { recipient, action: 'failed', status: filtered ? '5.7.1' : statusOf(own, shared), text: `${own}\n${shared}`.trim() };
    });
    return { recipients };
  },
};

function statusOf(own: string, shared: string): string | null {
  // The remote server's own code says more than au's heading.
  if (enhancedCodes(own).some((c) => c.cls !== 2 && c.detail !== 0)) return null;
  if (/RCPT/i.test(own) && /(?<!\d)5\d\d(?!\d)|user unknown/i.test(own)) return '5.1.1';
  return HEADINGS.find(([re]) => re.test(shared))?.[1] ?? null;
}
