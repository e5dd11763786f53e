import { fromDaemon } from '../signals.js';
import { bounceLike, mentions, textFormat } from './common.js';

/**
 * Postfix: "This is the mail system at host X." (2.3 and later, with an RFC 3464 part) and the
 * older text-only "This is the Postfix program at host X."; one paragraph per recipient,
 * `<address>: host mx[ip] said: 550 5.1.1 ... (in reply to RCPT TO command)`.
 */
export const postfix = textFormat({
  name: 'postfix',
  detect: (mail, context) =>
    (mentions(mail, 'this is the mail system at host', 'this is the postfix program at host') || mail.deliveryStatus.some((d) => /^x-postfix-(queue-id|sender):/im.test(d))) &&
    (bounceLike(mail, context) || fromDaemon(mail)),
  start: /^[ \t]*The (mail system|Postfix program)[ \t]*$/im,
  end: /^[ \t]*(?:-{3,}|(?:the )?original message|undelivered message)/im,
});
