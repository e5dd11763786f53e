import type { Decoder, RawRecipient } from '../types.js';
import { enhancedCodes, leadingCode } from '../codes.js';
import { mentions } from './common.js';
import { gmail } from './gmail.js';

/**
 * Google Workspace (G Suite) relaying to another domain: "** Message not delivered **", "There
 * was a problem delivering your message to X", "The response was: ..." from
 * mailer-daemon@googlemail.com with `X-Gm-Message-State`, and an RFC 3464 part whose `Status:` is
 * often a bare `5.0.0` or `4.0.0`. Read as Gmail's reports are; a generic status is then made
 * precise from Google's own wording for the failures that carry no code of their own (a domain
 * that does not exist, no usable DNS answer, a Null MX, an address that could not be found).
 */
const WORDING: ReadonlyArray<readonly [RegExp, string]> = [
  [/responded with code NXDOMAIN|domain name not found/i, '1.2'],
  [/\bnull mx\b/i, '1.10'],
  [/had no relevant answers/i, '4.4'],
  [/because the address couldn't be found|address not found/i, '1.1'],
];

export const gsuite: Decoder = {
  name: 'gsuite',
  decode(mail, context) {
    if (!mail.headers.has('x-gm-message-state') || !mentions(mail, '** message not delivered **', 'there was a problem delivering your message to')) return null;
    const decoded = gmail.decode(mail, context);
    if (!decoded) return null;
    return { ...decoded, recipients: decoded.recipients.map(precise) };
  },
};

function precise(r: RawRecipient): RawRecipient {
  const status = leadingCode(r.status);
  if (status && (status.subject !== 0 || status.detail !== 0)) return r;
  const said = `${r.diagnostic ?? ''}\n${(r.text ?? '').slice(0, 4000)}`;
  // A code of the remote server's own (`550 5.1.1 ...`) says more than Google's wording.
  if (enhancedCodes(said).some((c) => c.cls !== 2 && c.detail !== 0)) return r;
  const row = WORDING.find(([re]) => re.test(said));
  if (!row) return r;
  const cls = status?.cls ?? (r.action === 'delayed' ? 4 : 5);
  return { ...r, status: `${cls}.${row[1]}` };
}
