import type { Decoder } from '../types.js';
import { enhancedCodes } from '../codes.js';
import { ADDRESS, bounceLike, headerMatches, mentions, textFormat } from './common.js';

/**
 * DragonFly Mail Agent (dma): subject "Mail delivery failed", "This is the DragonFly Mail Agent
 * vX at host.", "There was an error delivering your mail to <address>.", then the remote answer
 * ("mx [ip] did not like our RCPT TO:" and the reply) or dma's own reason: "DNS lookup failure:
 * host X not found" (the destination domain cannot be resolved: 5.1.2), "Could not deliver for
 * the last N seconds. Giving up." (expired).
 */
const base = textFormat({
  name: 'dragonfly',
  detect: (mail, context) =>
    /mail delivery failed/i.test(mail.subject) && (headerMatches(mail, 'received', /\(DragonFly Mail Agent/) || mentions(mail, 'this is the dragonfly mail agent')) && bounceLike(mail, context),
  intro: new RegExp(String.raw`^there was an error delivering your mail to[ \t]*<(${ADDRESS})>`, 'i'),
  end: /^[ \t]*(original message follows\.|message headers follow)/im,
});

const HOST_NOT_FOUND = /DNS lookup failure: host \S{1,255} not found/i;

export const dragonfly: Decoder = {
  name: base.name,
  decode(mail, context) {
    const decoded = base.decode(mail, context);
    if (!decoded) return null;
    const recipients = decoded.recipients.map((r) => (!r.status && !enhancedCodes(r.text).length && HOST_NOT_FOUND.test(r.text ?? '') ? { ...r, status: '5.1.2' } : r));
    return { ...decoded, recipients };
  },
};
