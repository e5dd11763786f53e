import type { Decoder, RawRecipient } from '../types.js';
import { leadingCode } from '../codes.js';
import { headerMatches } from './common.js';
import { amazonSes } from './amazon-ses.js';

/**
 * Amazon WorkMail: reports sent through SES (`X-SES-Outgoing`) by WorkMail (`X-Mailer` or
 * `X-Original-Mailer: Amazon WorkMail`), "Technical report:" then RFC 3464 fields. Its `Status:`
 * is often WorkMail's own category (`5.1.0 - Unknown address error`, `4.0.0`) with the remote
 * server's reply quoted after it (`550-'5.7.1 ...'`): that quoted code is the one recorded.
 */
const QUOTED = /["'](\d\.\d{1,3}\.\d{1,3})\b/;

export const amazonWorkmail: Decoder = {
  name: 'amazon-workmail',
  decode(mail, context) {
    if (!headerMatches(mail, 'x-ses-outgoing', /./) || !(headerMatches(mail, 'x-original-mailer', /^\s*amazon workmail\b/i) || headerMatches(mail, 'x-mailer', /^\s*amazon workmail\b/i))) return null;
    const decoded = amazonSes.decode(mail, context);
    return decoded && { ...decoded, recipients: decoded.recipients.map(quotedStatus) };
  },
};

function quotedStatus(r: RawRecipient): RawRecipient {
  const status = leadingCode(r.status);
  if (status && status.detail !== 0) return r;
  const m = r.diagnostic ? QUOTED.exec(r.diagnostic) : null;
  const quoted = m ? leadingCode(m[1]) : null;
  if (!quoted || quoted.cls === 2 || (status && quoted.cls !== status.cls)) return r;
  return { ...r, status: m![1]! };
}
