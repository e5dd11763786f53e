import type { Decoder } from '../types.js';
import { perMessageFields, readDsn } from './common.js';

/**
 * RFC 3464 `multipart/report; report-type=delivery-status`, and RFC 6533
 * `message/global-delivery-status`: the standard, machine-readable delivery status notification,
 * whoever sent it. Every recipient group is read, whatever the report's top-level structure.
 */
export const rfc3464: Decoder = {
  name: 'rfc3464',
  decode(mail) {
    const dsn = readDsn(mail);
    if (!dsn) return null;
    return { recipients: dsn.recipients, ...perMessageFields(dsn) };
  },
};
