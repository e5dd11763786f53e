import { bounceLike, mentions, textFormat } from './common.js';

/**
 * Oracle/Sun Java System Messaging Server and iPlanet (used by several ISPs, Verizon among them):
 * "This report relates to a message you sent with the following header fields:", "Your message
 * cannot be delivered to the following recipients:", then per recipient `Recipient address:`,
 * `Reason:`, `Diagnostic code: smtp;550 ...`, `Remote system:`; also "This Message was
 * undeliverable due to the following reason:" with `Recipient: <address>` / `Reason: ...`.
 */
export const messagingServer = textFormat({
  name: 'messaging-server',
  detect: (mail, context) =>
    mentions(mail, 'this report relates to a message you sent with the following header fields', 'your message cannot be delivered to the following recipients', 'this message was undeliverable due to the following reason') && bounceLike(mail, context),
  start: /(cannot be delivered to the following recipients:?|undeliverable due to the following reason:?|has been delayed[^\n]{0,200}recipients:?)[^\n]*(?:\n|$)/i,
  end: /^[ \t]*(-{3,}|original-envelope-id:|reporting-mta:|original message)/im,
});
