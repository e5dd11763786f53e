import { bounceLike, mentions, textFormat } from './common.js';

/**
 * Barracuda Spam Firewall / Email Security Gateway: "**Message you sent blocked by our bulk email
 * filter**", "Your message to: <address> was blocked by our Spam Firewall", then RFC 3464
 * fields (in a delivery-status part, or written in the text).
 */
export const barracuda = textFormat({
  name: 'barracuda',
  detect: (mail, context) => (/our bulk email filter/i.test(mail.subject) || mentions(mail, 'was blocked by our spam firewall')) && bounceLike(mail, context),
});
