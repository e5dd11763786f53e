import { bounceLike, mentions, textFormat } from './common.js';

/**
 * qmail (and netqmail, vpopmail): "Hi. This is the qmail-send program at X." then one block per
 * address, `<address>:` and the remote answer (`Remote host said: 550 ...`, `Sorry, no mailbox
 * here by that name. (#5.1.1)`, patched versions add `(state 14)`: the SMTP state, not a code).
 */
export const qmail = textFormat({
  name: 'qmail',
  detect: (mail, context) =>
    mentions(mail, 'this is the qmail-send program', "i'm afraid i wasn't able to deliver your message to the following addresses", 'qmail-remote', 'vpopmail (#') && bounceLike(mail, context),
  start: /(to the following addresses\.|this is a permanent error; i've given up\.[^\n]*|i'm not going to try again[^\n]*)\n/i,
  // qmail's own marker, its variants that return the header only, and its clones'.
  end: /^[ \t]*-{2,}[ \t]*(?:below (?:this|the next) line is a copy of the (?:message|mail header)|mensaje original adjunto)|^[ \t]*original message follows/im,
  // qmail-remote's and qmail-ldap's own messages, when the remote said nothing more.
  phrases: [
    [/\bmailaddress is administrativ\w{0,6} disabled/i, '2.1'],
    [/\bthe message exee?ded the maximum size the user accepts/i, '2.3'],
    [/\bmailbox unavailable \(not enough free space\)/i, '3.1'],
    [/\bbut my name was rejected|\bbut sender was rejected/i, '7.1'],
  ],
});
