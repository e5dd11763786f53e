import { parseFieldGroups, typedAddress, typedValue, type FieldGroup } from './fields.js';
import type { MailView } from './mime.js';
import type { Decoded, RawRecipient } from './types.js';

/**
 * Reading RFC 3464 / RFC 6533 delivery-status fields: from the message's delivery-status parts,
 * or from fields an MTA wrote in the text itself.
 */

/** The recipients and per-message fields of the message's delivery-status parts, if any. */
export interface DsnFields {
  readonly recipients: RawRecipient[];
  readonly perMessage: FieldGroup | undefined;
}

export function readDsn(mail: MailView): DsnFields | null {
  return readDsnBodies(mail.deliveryStatus);
}

export function readDsnBodies(bodies: readonly string[]): DsnFields | null {
  if (bodies.length === 0) return null;
  const recipients: RawRecipient[] = [];
  let perMessage: FieldGroup | undefined;
  for (const body of bodies) {
    for (const group of parseFieldGroups(body)) {
      if (group.has('final-recipient') || group.has('original-recipient')) recipients.push(dsnRecipient(group));
      else if (!perMessage && (group.has('reporting-mta') || group.has('original-envelope-id') || group.has('arrival-date') || group.has('received-from-mta'))) perMessage = group;
    }
  }
  if (recipients.length === 0 && !perMessage) return null;
  return { recipients, perMessage };
}

export function dsnRecipient(group: FieldGroup): RawRecipient {
  return {
    recipient: typedAddress(group.get('final-recipient')) ?? typedAddress(group.get('original-recipient')),
    originalRecipient: typedAddress(group.get('original-recipient')),
    action: /^[^\s(;]*/.exec(group.get('action')?.trim().toLowerCase() ?? '')![0] || null,
    status: group.get('status')?.trim() || null,
    diagnostic: typedValue(group.get('diagnostic-code')),
    remoteMta: hostOf(typedValue(group.get('remote-mta'))),
    lastAttemptDate: group.get('last-attempt-date')?.trim() || null,
  };
}

/** `mx.example. (192.0.2.1, the server for ...)` -> `mx.example`: the host, without comments. */
export function hostOf(value: string | null): string | null {
  if (!value) return null;
  const host = /^[^\s(]*/.exec(value.trim())![0].replace(/\.$/, '');
  return host.length > 0 ? host.toLowerCase() : null;
}

export function perMessageFields(dsn: DsnFields | null): Pick<Decoded, 'reportingMta' | 'originalEnvelopeId' | 'arrivalDate'> {
  const g = dsn?.perMessage;
  return {
    reportingMta: hostOf(typedValue(g?.get('reporting-mta'))),
    originalEnvelopeId: g?.get('original-envelope-id')?.trim() || null,
    arrivalDate: g?.get('arrival-date')?.trim() || null,
  };
}

/**
 * Delivery-status fields written in the text itself (an MTA that puts `Final-Recipient:`,
 * `Action:`, `Status:` lines in a text/plain part instead of a message/delivery-status one).
 */
export function dsnInText(text: string): DsnFields | null {
  const at = text.search(/^[ \t]*(final-recipient|original-recipient):/im);
  if (at < 0) return null;
  const start = Math.max(0, text.lastIndexOf('\n\n', at));
  // The fields may be indented as a block: remove that indentation, keep deeper continuations.
  const indent = /^[ \t]*/.exec(text.slice(at))![0];
  const lines = text.slice(start, start + 64 * 1024).split(/\r\n|\r|\n/).map((l) => (indent && l.startsWith(indent) ? l.slice(indent.length) : l));
  const dsn = readDsnBodies([lines.join('\n')]);
  return dsn && dsn.recipients.some((r) => r.recipient) ? dsn : null;
}
