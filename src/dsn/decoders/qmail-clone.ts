import { bounceLike, headerMatches, mentions, textFormat } from './common.js';
import { reasonIn, withReasons, type ReasonTable } from './reasons.js';

/**
 * MTAs built on qmail that rewrote its greeting ("This is the mail delivery agent at X.",
 * "Unfortunately, your mail was not delivered to the following address:", "Su mensaje no pudo
 * ser entregado", ...) but kept its layout and messages: subject `failure notice` or a
 * `Received: (qmail N invoked for bounce)` header, one `<address>:` block per recipient with
 * qmail-remote's wording (`X does not like recipient.`, `Remote host said: 550 ...`, `Giving
 * up on X.`). That wording says what failed where the remote answer has no enhanced code.
 */
const INTROS = [
  'this is the mail delivery agent at',
  'unfortunately, your mail was not delivered to the following address',
  'unable to deliver your message to the following addresses',
  'su mensaje no pudo ser entregado',
  'this is the machine generated message from mail service',
  'unable to deliver message to the following address',
  'your mail message to the following address',
  'your message to the following addresses',
  'he/her is not ',
];

const WORDING: ReasonTable = [
  // qmail-remote: the server refused the address at RCPT.
  ['does not like recipient.', '1.1'],
  ['no mailbox here by that name', '1.1'],
  ['disk quota exceeded', '2.2'],
  ['message size exceeds fixed maximum message size', '3.4'],
  ['the message exeeded the maximum size the user accepts', '2.3'],
  ['mailaddress is administratively disabled', '2.1'],
  ['mailaddress is administrativley disabled', '2.1'],
  ["sorry, i couldn't find any host", '1.2'],
  ['mailbox unavailable (not enough free space)', '3.1'],
  ["sorry, i wasn't able to establish an smtp connection", '4.1'],
  ["sorry, i couldn't find a mail exchanger or ip address", '4.4'],
  ["although i'm listed as a best-preference mx or a for that host", '4.6'],
  ['but sender was rejected.', '7.1'],
  ['but my name was rejected.', '7.1'],
  ['this message has been in the queue too long.', '4.7'],
];

export const qmailClone = withReasons(
  textFormat({
    name: 'qmail-clone',
    detect: (mail, context) =>
      (/^(failure notice|permanent delivery failure)/i.test(mail.subject) || headerMatches(mail, 'received', /^\(qmail \d{1,10} invoked (for bounce|from network)\)/i)) &&
      mentions(mail, ...INTROS) &&
      bounceLike(mail, context),
    start: /(this is the mail delivery agent at|unfortunately, your mail was not delivered to the following address|unable to deliver (your )?message to the following address|su mensaje no pudo ser entregado|this is the machine generated message from mail service|your (mail )?message to the following address|he\/her is not )[^\n]*(?:\n|$)/i,
    end: /^[ \t]*-{2,}[ \t]*(below this line is a copy of the message|original message follows)/im,
  }),
  (r) => reasonIn(WORDING, r.text),
);
