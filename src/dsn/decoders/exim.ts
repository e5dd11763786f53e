import { bounceLike, mentions, textFormat } from './common.js';

/**
 * Exim: "This message was created automatically by mail delivery software." and the failed
 * addresses, each followed by indented lines (`host mx [ip]`, `SMTP error from remote mail
 * server after RCPT TO:<...>:`, the server's answer). X-Failed-Recipients lists them too.
 * Delay warnings ("has not yet been delivered ... after more than 24 hours") are delays.
 */
export const exim = textFormat({
  name: 'exim',
  detect: (mail, context) =>
    (mentions(mail, 'this message was created automatically by mail delivery software') || (mentions(mail, 'a message that you sent') && /a message that you sent (could not be|has not yet been) delivered to one or more of\s+its\s+recipients/i.test(mail.head))) && bounceLike(mail, context),
  start: /(following address(es|\(es\))? (failed|deferred)|address(es|\(es\))? (failed|deferred):|to one or more of\s+its\s+recipients[^\n]*(?:\n|$))/i,
  end: /^[ \t]*(-{3,}|-+ this is a copy of|-+ the body of the message|reporting-mta:)|^(Action:|Final-Recipient:)/im,
});
