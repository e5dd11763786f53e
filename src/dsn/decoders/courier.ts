import { bounceLike, mentions, textFormat } from './common.js';

/**
 * Courier: "This is a delivery status notification from X, running the Courier mail server";
 * one block per `<address>:` with the SMTP transcript (`>>> RCPT TO:`, `<<< 550 ...`).
 */
export const courier = textFormat({
  name: 'courier',
  detect: (mail, context) => mentions(mail, 'courier mail server') && bounceLike(mail, context),
  start: /^-{3,}\s*$/m,
});
