import { bounceLike, mentions, textFormat } from './common.js';

/**
 * OpenSMTPD: "This is the MAILER-DAEMON, please DO NOT REPLY to this email." then
 * `address: 550 ...` lines for the recipients; warnings ("Delivery status notification:
 * warning") are delays.
 */
export const opensmtpd = textFormat({
  name: 'opensmtpd',
  detect: (mail, context) =>
    (mentions(mail, 'this is the mailer-daemon, please do not reply to this') || /^delivery status notification: (error|warning|delay)/i.test(mail.subject)) && bounceLike(mail, context),
  start: /following list of recipients:[^\n]*(?:\n|$)|the following recipients?:[^\n]*(?:\n|$)/i,
  end: /^[ \t]*below is a copy of the original message/im,
  // Its own failure strings (smtpd/mta.c), written without any SMTP code.
  phrases: [
    [/\binvalid domain name\b/i, '1.2'],
    [/\bdestination seems? to reject all mails?\b/i, '3.2'],
    [/\bno valid route to (?:remote mx|destination)|\ball routes to destination blocked|\baddress family mismatch on destination mxs|\bnetwork error on destination mxs/i, '4.4'],
    [/\btemporary failure in mx lookup|\bbad dns lookup error code/i, '4.3'],
    [/\bcould not retrieve credentials/i, '7.0'],
  ],
});
