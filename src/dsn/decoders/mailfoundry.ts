import { ADDRESS, bounceLike, headerMatches, textFormat } from './common.js';

/**
 * MailFoundry: subject "Message delivery has failed", a `(MAILFOUNDRY) id` Received line;
 * "Unable to deliver message to: <address>", "Delivery failed for the following reason:" and
 * `Server mx[ip] failed with: 550 ...`.
 */
export const mailfoundry = textFormat({
  name: 'mailfoundry',
  detect: (mail, context) => /^message delivery has failed/i.test(mail.subject) && headerMatches(mail, 'received', /\(MAILFOUNDRY\) id/) && bounceLike(mail, context),
  intro: new RegExp(String.raw`^unable to deliver message to:[ \t]*<(${ADDRESS})>`, 'i'),
});
