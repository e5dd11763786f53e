import { looksLikeAutoreply } from '../signals.js';
import type { Decoder } from '../types.js';

/**
 * Auto-replies: RFC 3834 `Auto-Submitted` (without a failure marker: real DSNs carry it too),
 * vendor headers (X-Autoreply, X-Autorespond, Precedence: auto_reply...) and out-of-office
 * subjects in several languages. Recorded, never counted.
 */
export const autoreply: Decoder = {
  name: 'autoreply',
  decode(mail) {
    return looksLikeAutoreply(mail) ? { kind: 'autoreply', recipients: [] } : null;
  },
};
