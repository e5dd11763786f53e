import type { Decoder, RawRecipient } from '../types.js';
import { bounceLike, fromDomain, mentions, textFormat } from './common.js';

/**
 * Facebook: "Sorry, your message could not be delivered" from mailer-daemon@mx.facebook.com,
 * "This message was created automatically by Facebook.", an RFC 3464 part whose diagnostic
 * carries Facebook's own response code (`550 5.1.1 RCP-P2 http://postmaster.facebook.com/...`).
 * The SMTP code is the same for most refusals; the response code says which one it is, so it
 * decides the recorded status (P: permanent, T: temporary).
 */
const RESPONSE_CODES: Readonly<Record<string, string>> = {
  'RCP-P1': '5.1.1', // the recipient address does not exist
  'INT-P1': '5.1.1',
  'INT-P3': '5.1.1', // the group address does not exist
  'INT-P4': '5.1.1',
  'RCP-P2': '5.7.1', // the recipient's preferences refuse the message
  'RCP-P3': '5.7.1', // the recipient's privacy settings refuse it
  'RCP-T1': '4.3.0', // recipient unavailable: internal issue
  'RCP-T4': '4.2.1', // the address is deactivated
  'MSG-P1': '5.3.4', // message too large
  'INT-P2': '5.3.4',
  'MSG-P2': '5.6.0', // an attachment type that is not accepted
  'MSG-P3': '5.6.0', // a header field present more than once
  'MSG-T1': '4.5.3', // too many recipients
  'POL-P1': '5.7.1', // the sending IP is on the Spamhaus PBL
  'POL-P2': '5.7.1', // mail from the sending IP is no longer accepted
  'POL-P3': '5.7.1',
  'POL-P4': '5.7.1',
  'POL-P5': '5.7.1', // a virus
  'POL-P6': '5.7.1', // a blocked URL
  'POL-P7': '5.7.1', // abuse policy or domain authentication
  'POL-T1': '4.7.1',
  'POL-T2': '4.7.1',
  'POL-T3': '4.7.1',
  'DNS-P1': '5.1.8', // the MAIL FROM domain does not exist
  'DNS-P2': '5.1.8', // the MAIL FROM domain has no MX
  'DNS-T1': '4.1.8',
  'DNS-P3': '5.7.1', // no reverse DNS for the sending server
  'DNS-T2': '4.7.1',
  'CON-T1': '4.3.2', // too many connections open at Facebook
  'CON-T2': '4.4.5',
  'CON-T3': '4.4.5',
  'CON-T4': '4.5.3',
};

const RESPONSE_CODE = /\b(RCP|INT|MSG|POL|DNS|CON)-([PT])(\d{1,2})\b/;

const base = textFormat({
  name: 'facebook',
  detect: (mail, context) =>
    fromDomain(mail, /(^|\.)facebook\.com$/i) && (/^sorry, your message could not be delivered/i.test(mail.subject) || mentions(mail, 'this message was created automatically by facebook')) && bounceLike(mail, context),
});

export const facebook: Decoder = {
  name: base.name,
  decode(mail, context) {
    const decoded = base.decode(mail, context);
    return decoded && { ...decoded, recipients: decoded.recipients.map(withResponseCode) };
  },
};

function withResponseCode(r: RawRecipient): RawRecipient {
  const m = RESPONSE_CODE.exec(`${r.diagnostic ?? ''}\n${(r.text ?? '').slice(0, 4000)}`);
  if (!m) return r;
  const known = RESPONSE_CODES[m[0]];
  // An internal temporary issue (INT-Tn) is not listed one by one.
  const status = known ?? (m[1] === 'INT' && m[2] === 'T' ? '4.3.0' : null);
  return status ? { ...r, status } : r;
}
