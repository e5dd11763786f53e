import { looksLikeAutoreply, looksLikeChallenge } from '../signals.js';
import type { Decoder } from '../types.js';

/**
 * Auto-replies (RFC 3834 `Auto-Submitted: auto-replied`, vendor headers, out-of-office
 * subjects) and challenge/response messages: recorded, never counted as bounces.
 */
export const autoreply: Decoder = {
  name: 'autoreply',
  decode(mail) {
    if (!looksLikeAutoreply(mail) && !looksLikeChallenge(mail)) return null;
    return { kind: 'autoreply', recipients: [] };
  },
};
