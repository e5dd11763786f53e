import { isReplySubject, looksLikeBounce } from '../signals.js';
import type { Decoder } from '../types.js';
import { textFormat } from './common.js';

/**
 * The last resort for a message that is a bounce (daemon sender, failure subject, null sender,
 * X-Failed-Recipients) in no format a specific decoder knows: recipients from the lines that
 * open with an address, else X-Failed-Recipients, else one recipient of unknown address; the
 * code searched in each recipient's text. A success notice in text ("(Success)", "Relayed:")
 * is a delivery.
 */
const SUCCESS = /\((success|relay|delivered)\)|^\s*(delivered|relayed)\s*:|successfully (delivered|relayed)|delivery (to the following recipients? )?(was |has been )?successful/i;

// Reports with a delivery-status part are read by rfc3464, earlier in the chain.
const generic = textFormat({
  name: 'bounce-text',
  detect: (mail, context) => looksLikeBounce(mail, context) && !isReplySubject(mail),
  readsReport: false,
});

export const bounceText: Decoder = {
  name: 'bounce-text',
  decode(mail, context) {
    const decoded = generic.decode(mail, context);
    if (!decoded || !SUCCESS.test(mail.subject)) return decoded;
    return { ...decoded, recipients: decoded.recipients.map((r) => ({ ...r, action: 'delivered' })) };
  },
};
