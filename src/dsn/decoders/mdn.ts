import type { Decoder } from '../types.js';

/**
 * Message disposition notifications (RFC 8098 read receipts, `report-type=disposition-
 * notification`): an automatic answer about a message that was delivered, never a bounce.
 */
export const mdn: Decoder = {
  name: 'mdn',
  decode(mail) {
    if (mail.reportType !== 'disposition-notification') return null;
    return { kind: 'autoreply', recipients: [] };
  },
};
