import { ADDRESS, bounceLike, headerMatches, textFormat } from './common.js';

/**
 * Ipswitch IMail: one line per failed address, the reason first (`Unknown user: address`,
 * `User mailbox exceeds allowed size: address`, `Mail rejected by ...: address`), then
 * "Original message follows.".
 */
const REASON_LINE = new RegExp(String.raw`^(unknown user|invalid final delivery userid|user mailbox exceeds allowed size|mail rejected by[^:\n]{0,80}|unable to deliver to|recipient not found|delivery failed \d+ attempts)[ \t]*:[ \t]*<?${ADDRESS}`, 'im');

export const imail = textFormat({
  name: 'imail',
  detect: (mail, context) =>
    (headerMatches(mail, 'x-mailer', /smtp32|imail/i) || REASON_LINE.test(mail.head)) &&
    bounceLike(mail, context),
  end: /^[ \t]*original message follows/im,
  intro: new RegExp(String.raw`^[ \t]*[A-Za-z][^:\n]{0,100}:[ \t]*<?(${ADDRESS})>?[ \t]*$`, 'i'),
  // Its own reason lines, written without any SMTP code.
  phrases: [
    [/\binvalid final delivery userid/i, '1.1'],
    [/\brequested action not taken: virus detected/i, '7.1'],
    [/\bblacklisted url in message/i, '7.1'],
  ],
});
