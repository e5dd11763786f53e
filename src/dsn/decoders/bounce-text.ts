import { firstAddress } from '../mime.js';
import { looksLikeBounce } from '../signals.js';
import type { Decoder, RawRecipient } from '../types.js';

/**
 * The last resort for a message that is a bounce (daemon sender, failure subject, null sender,
 * X-Failed-Recipients) in no format a specific decoder knows: recipients from
 * X-Failed-Recipients when present, and the status code searched in the text.
 */
export const bounceText: Decoder = {
  name: 'bounce-text',
  decode(mail, context) {
    if (!looksLikeBounce(mail, context)) return null;
    const failed = (mail.headers.get('x-failed-recipients') ?? [])
      .flatMap((v) => v.split(','))
      .map((v) => firstAddress(v))
      .filter((v): v is string => v !== null);
    const text = mail.text;
    const recipients: RawRecipient[] = failed.length > 0
      ? [...new Set(failed)].map((recipient) => ({ recipient, action: 'failed', text: around(text, recipient) }))
      : [{ recipient: null, action: 'failed', text }];
    return { recipients };
  },
};

/** The lines of the text that mention an address, or the whole text when none does. */
function around(text: string, address: string): string {
  const lines = text.split(/\r?\n/);
  const i = lines.findIndex((l) => l.toLowerCase().includes(address));
  return i < 0 ? text : lines.slice(i, i + 4).join('\n');
}
