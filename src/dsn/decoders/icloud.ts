import { bounceLike, fromDomain, mentions, textFormat } from './common.js';

/**
 * iCloud Mail (icloud.com, me.com, mac.com): Postfix-style reports from Apple's servers,
 * "This is the mail system at host ...icloud.com." and `<address>: ... said: 550 5.1.1 ...`.
 */
export const icloud = textFormat({
  name: 'icloud',
  detect: (mail, context) => bounceLike(mail, context) && (fromDomain(mail, /(^|\.)(icloud\.com|me\.com|mac\.com)$/i) || (mentions(mail, 'this is the mail system at host') && /this is the mail system at host [a-z0-9.-]*\.(icloud|me|mac)\.com/i.test(mail.head))),
  start: /^[ \t]*The mail system[ \t]*$/im,
  end: /^[ \t]*(?:-{3,}|(?:the )?original message|undelivered message)/im,
});
