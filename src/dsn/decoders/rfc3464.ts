import { parseFieldGroups, typedAddress, typedValue, type FieldGroup } from '../fields.js';
import type { Decoded, Decoder, RawRecipient } from '../types.js';

/**
 * RFC 3464 `multipart/report; report-type=delivery-status`, and RFC 6533
 * `message/global-delivery-status`: the standard, machine-readable delivery status notification.
 * Every recipient group is read, whatever the report's top-level structure.
 */
export const rfc3464: Decoder = {
  name: 'rfc3464',
  decode(mail) {
    if (mail.deliveryStatus.length === 0) return null;
    const recipients: RawRecipient[] = [];
    let perMessage: FieldGroup | undefined;
    for (const body of mail.deliveryStatus) {
      for (const group of parseFieldGroups(body)) {
        if (group.has('final-recipient') || group.has('original-recipient')) recipients.push(readRecipient(group));
        else if (!perMessage && (group.has('reporting-mta') || group.has('original-envelope-id') || group.has('arrival-date') || group.has('received-from-mta'))) perMessage = group;
      }
    }
    if (recipients.length === 0 && !perMessage) return null;
    const decoded: Decoded = {
      recipients,
      reportingMta: typedValue(perMessage?.get('reporting-mta')),
      originalEnvelopeId: perMessage?.get('original-envelope-id')?.trim() || null,
      arrivalDate: perMessage?.get('arrival-date')?.trim() || null,
    };
    return decoded;
  },
};

export function readRecipient(group: FieldGroup): RawRecipient {
  return {
    recipient: typedAddress(group.get('final-recipient')) ?? typedAddress(group.get('original-recipient')),
    originalRecipient: typedAddress(group.get('original-recipient')),
    action: group.get('action')?.trim().toLowerCase().split(/[\s(;]/)[0] || null,
    status: group.get('status')?.trim() || null,
    diagnostic: typedValue(group.get('diagnostic-code')),
    remoteMta: typedValue(group.get('remote-mta')),
    lastAttemptDate: group.get('last-attempt-date')?.trim() || null,
  };
}
