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
});
