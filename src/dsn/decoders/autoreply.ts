import { looksLikeAutoreply } from '../signals.js';
import type { Decoder } from '../types.js';

/**
 * Auto-replies: RFC 3834 `Auto-Submitted` (without a failure marker: real DSNs carry it too),
 * vendor headers (X-Autoreply, X-Autorespond, Precedence: auto_reply...) and out-of-office
 * subjects in several languages. Recorded, never counted. The recipient is the address that
 * replied (the `From:`), so that the answer is attributed to the contact that sent it.
 */
export const autoreply: Decoder = {
  name: 'autoreply',
  decode(mail) {
    if (!looksLikeAutoreply(mail)) return null;
    // An answer from our own address (a loop through the bounce domain) names nobody.
    const own = (mail.headers.get('to') ?? []).some((to) => mail.from !== null && to.toLowerCase().includes(mail.from));
    return { kind: 'autoreply', recipients: mail.from && !own ? [{ recipient: mail.from, action: null }] : [] };
  },
};
