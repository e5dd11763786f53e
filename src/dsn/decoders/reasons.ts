import { enhancedCodes, leadingCode, replyCodes } from '../codes.js';
import { inferFromPhrase } from '../phrases.js';
import type { MailView } from '../mime.js';
import type { Decoded, Decoder, RawRecipient } from '../types.js';

/**
 * Formats whose reports say what went wrong in their own words (a bounce category field, a fixed
 * error text) while their Status says nothing more than `5.0.0`, or is missing: a table of
 * (lowercase) wordings and the `subject.detail` each means gives such a recipient its Status.
 * A specific enhanced code in the recipient's own diagnostic or text always wins.
 */
export type ReasonTable = ReadonlyArray<readonly [string, string]>;

/** The `subject.detail` of the first row whose wording appears in `text` (case-insensitive). */
export function reasonIn(table: ReasonTable, text: string | null | undefined): string | null {
  if (!text) return null;
  const lower = text.slice(0, 16 * 1024).toLowerCase();
  for (const [needle, detail] of table) if (lower.includes(needle)) return detail;
  return null;
}

function specific(text: string | null | undefined): boolean {
  return enhancedCodes(text).some((c) => c.subject !== 0 || c.detail !== 0);
}

/**
 * The recipient with a Status made of `detail` when its own is missing or generic (`X.0.0`) and
 * nothing it carries is more specific; the class is the Status's, else the SMTP reply's, else
 * 4 for a delay and 5 otherwise. With `phrases`, the common failure phrases are tried when the
 * table has no row for the recipient.
 */
export function refine(r: RawRecipient, detail: string | null, phrases = false): RawRecipient {
  const status = leadingCode(r.status);
  if (status && (status.subject !== 0 || status.detail !== 0)) return r;
  if (specific(r.diagnostic) || specific(r.text)) return r;
  let found = detail;
  let replyClass: number | null = null;
  if (!found && phrases) {
    const p = inferFromPhrase([r.diagnostic, r.text].filter(Boolean).join('\n'));
    if (p) [found, replyClass] = [p.detail, p.replyClass];
  }
  if (!found) return r;
  const reply = replyCodes(r.diagnostic)[0] ?? replyCodes(r.text)[0];
  const cls = status?.cls ?? replyClass ?? (reply ? Math.floor(reply / 100) : null) ?? (r.action === 'delayed' ? 4 : 5);
  if (cls !== 4 && cls !== 5) return r;
  return { ...r, status: `${cls}.${found}` };
}

/** A decoder whose recipients go through `refine` with the detail `reasonOf` finds for each. */
export function withReasons(decoder: Decoder, reasonOf: (r: RawRecipient, mail: MailView) => string | null, phrases = true): Decoder {
  return {
    name: decoder.name,
    decode(mail, context) {
      const decoded: Decoded | null = decoder.decode(mail, context);
      if (!decoded || decoded.kind) return decoded;
      return { ...decoded, recipients: decoded.recipients.map((r) => refine(r, reasonOf(r, mail), phrases)) };
    },
  };
}
