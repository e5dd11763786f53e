import { firstAddress, headerSection } from '../mime.js';
import type { Decoder } from '../types.js';

/**
 * Complaint reports without an ARF part, in the style of Microsoft's junk mail reporting
 * programme: the reported message is attached as message/rfc822 and names the complaining
 * recipient in an `X-HmXmrOriginalRecipient` header. A complaint, never a bounce.
 */
export const jmrp: Decoder = {
  name: 'jmrp',
  decode(mail) {
    if (mail.deliveryStatus.length > 0) return null;
    for (const original of mail.embedded) {
      const m = /^x-hmxmroriginalrecipient:[ \t]*(.+)$/im.exec(headerSection(original));
      if (!m) continue;
      return { kind: 'complaint', recipients: [{ recipient: firstAddress(m[1]), action: null, text: null }] };
    }
    return null;
  },
};
