import { bounceLike, mentions, textFormat } from './common.js';

/**
 * Courier: "This is a delivery status notification from X, running the Courier mail server";
 * one block per `<address>:` with the SMTP transcript (`>>> RCPT TO:`, `<<< 550 ...`).
 */
export const courier = textFormat({
  name: 'courier',
  detect: (mail, context) => mentions(mail, 'courier mail server') && bounceLike(mail, context),
  start: /^-{3,}\s*$/m,
  // Courier's own messages about the destination's DNS (module.esmtp/esmtpclient.c).
  phrases: [[/\bdns lookup failed\.|\bthis domain's dns violates rfc 1035/i, '4.3']],
});
