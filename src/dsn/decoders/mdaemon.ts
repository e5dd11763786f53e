import { ADDRESS, bounceLike, headerMatches, mentions, textFormat } from './common.js';

/**
 * MDaemon: "The attached message had PERMANENT fatal delivery errors!" and a session transcript
 * (`--- Session Transcript ---`) where each `RCPT TO:<address>` is followed by the answer.
 */
export const mdaemon = textFormat({
  name: 'mdaemon',
  detect: (mail, context) =>
    (mentions(mail, 'the attached message had permanent fatal delivery errors', 'mdaemon', '--- session transcript ---') || headerMatches(mail, 'x-mdaemon-deliver-to', /./) || /^mdaemon@/i.test(mail.from ?? '')) && bounceLike(mail, context),
  start: /---\s*session transcript\s*---[^\n]*(?:\n|$)/i,
  end: /---\s*end transcript\s*---/i,
  intro: new RegExp(String.raw`RCPT TO:[ \t]*<(${ADDRESS})>`, 'i'),
});
