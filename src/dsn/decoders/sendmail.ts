import { bounceLike, mentions, textFormat } from './common.js';

/**
 * Sendmail: "----- The following addresses had permanent fatal errors -----" with
 * `<address>` and `(reason: 550 5.1.1 ...)`, then the session transcript (`>>> RCPT To:`,
 * `<<< 550 ...`); modern versions add an RFC 3464 part. Warnings ("THIS IS A WARNING MESSAGE
 * ONLY") are delays. Version 5 (and appliances built on it) wrote only the transcript, then
 * "----- Unsent message follows -----" (or "----- No message was collected -----").
 */
export const sendmail = textFormat({
  name: 'sendmail',
  detect: (mail, context) =>
    (mentions(mail, 'the following addresses had permanent fatal errors', 'the following addresses had transient non-fatal errors', 'transcript of session follows') || (mentions(mail, 'the original message was received at') && /the original message was received at .{0,120}\bfrom\b/is.test(mail.head))) && bounceLike(mail, context),
  start: /(?<!-)-+ ?the following addresses had (permanent fatal|transient non-fatal) errors|(?<!-)-+ ?transcript of session follows/i,
  end: /^[ \t]*-+ ?(original message follows|message header follows|original message|undelivered message follows|unsent message follows|no message was collected)/im,
});
