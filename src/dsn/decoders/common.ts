import { dsnInText, perMessageFields, readDsn, type DsnFields } from '../dsn-fields.js';
import { firstAddress, type MailView } from '../mime.js';
import { remoteMtaIn, remoteMtasIn } from '../remote-mta.js';
import { looksLikeBounce, textSaysDelay } from '../signals.js';
import { DEFAULT_INTRO, ORIGINAL_FOLLOWS, RCPT_INTRO, proseRecipients, recipientBlocks, section, withSharedContext, type RecipientBlock } from '../text-blocks.js';
import type { PhraseTable } from '../phrases.js';
import type { DecodeContext, Decoder, RawRecipient } from '../types.js';

/**
 * What the decoders share: the common shape of a decoder for one MTA's format (its RFC 3464
 * part when it has one, its text cut into one paragraph per recipient), and the markers that
 * recognise a sender. The toolboxes it uses are re-exported for the decoders.
 */
export { ADDRESS, cleanAddress, recipientBlocks, type RecipientBlock } from '../text-blocks.js';
export { perMessageFields, readDsn } from '../dsn-fields.js';

/** Addresses a bounce is sent to and from: never a failed recipient of it. */
export function ownAddresses(mail: MailView, context: DecodeContext): Set<string> {
  const own = new Set<string>();
  for (const name of ['to', 'delivered-to', 'x-original-to', 'envelope-to', 'reply-to', 'sender']) {
    for (const value of mail.headers.get(name) ?? []) {
      for (const part of value.split(',')) {
        const a = firstAddress(part);
        if (a) own.add(a);
      }
    }
  }
  if (mail.from) own.add(mail.from);
  if (context.mailFrom) own.add(context.mailFrom.toLowerCase());
  return own;
}

/** The addresses of `X-Failed-Recipients` (Exim and others), in order, without repeats. */
export function failedRecipientsHeader(mail: MailView): string[] {
  const out: string[] = [];
  for (const value of mail.headers.get('x-failed-recipients') ?? []) {
    for (const part of value.split(',')) {
      const a = firstAddress(part);
      if (a && !out.includes(a)) out.push(a);
    }
  }
  return out;
}

/** How one MTA writes its bounces. */
export interface TextFormat {
  readonly name: string;
  /** True when the message is this MTA's bounce (or delay warning). */
  detect(mail: MailView, context: DecodeContext): boolean;
  /** Where the per-recipient part of the text starts (default: the whole text). */
  readonly start?: RegExp;
  /** Where it ends (default: the usual "original message follows" markers). */
  readonly end?: RegExp | null;
  /** A line that opens one recipient's block; group 1 is the address. */
  readonly intro?: RegExp;
  /** True when the message is a warning that delivery is still being tried. */
  isDelay?(mail: MailView): boolean;
  /** Reads the per-recipient blocks itself (for layouts the intro line cannot describe). */
  blocks?(text: string, exclude: ReadonlySet<string>, mail: MailView): RecipientBlock[];
  /** False for a decoder of text only: it leaves message/delivery-status parts to rfc3464. */
  readonly readsReport?: boolean;
  /** The MTA's own fixed messages and what they mean, tried before the general phrases. */
  readonly phrases?: PhraseTable;
}

/**
 * A decoder for one MTA's format. It reads the RFC 3464 part when the message has one (adding
 * each recipient's paragraph of the text, where the real SMTP answer often is); otherwise the
 * recipients come from the text blocks, then from X-Failed-Recipients; a recognised bounce with
 * no recipient at all still gives one recipient (address unknown) with the whole text.
 */
export function textFormat(format: TextFormat): Decoder {
  return {
    name: format.name,
    decode(mail, context) {
      if (!format.detect(mail, context)) return null;
      const delay = format.isDelay ? format.isDelay(mail) : textSaysDelay(mail);
      const action = delay ? 'delayed' : 'failed';
      const end = format.end === undefined ? ORIGINAL_FOLLOWS : format.end;
      // The report's part: a long quoted original past 64 KB says nothing more about recipients.
      const part = (section(mail.text, format.start ?? null, end) || (format.start ? section(mail.text, null, end) : '')).slice(0, 64 * 1024);
      const exclude = ownAddresses(mail, context);
      let blocks = format.blocks ? format.blocks(part, exclude, mail) : recipientBlocks(part, exclude, format.intro ?? DEFAULT_INTRO);
      if (blocks.length === 0 && !format.blocks) blocks = recipientBlocks(part, exclude, RCPT_INTRO);
      blocks = withSharedContext(blocks, part);
      const dsn = (format.readsReport === false ? null : readDsn(mail)) ?? dsnInText(mail.text);
      const recipients = mergeRecipients(dsn, blocks, failedRecipientsHeader(mail), part, action);
      // Nothing opens a line with an address: look for one named in a sentence.
      const named = recipients.length === 1 && recipients[0]!.recipient === null ? proseRecipients(part, exclude) : [];
      const all = named.length > 0 ? named.map((recipient) => ({ ...recipients[0]!, recipient })) : recipients;
      // A transcript shared by the recipients names the one server they all went to.
      const hosts = remoteMtasIn(part);
      const shared = hosts.length === 1 ? hosts[0]! : null;
      const phrases = format.phrases;
      return { recipients: all.map((r) => (r.remoteMta || remoteMtaIn(r.text) || !shared ? r : { ...r, remoteMta: shared })).map((r) => (phrases ? { ...r, phrases } : r)), ...perMessageFields(dsn) };
    },
  };
}

export function mergeRecipients(dsn: DsnFields | null, blocks: readonly RecipientBlock[], failedHeader: readonly string[], part: string, action: string): RawRecipient[] {
  const byAddress = new Map(blocks.map((b) => [b.recipient, b.text]));
  if (dsn && dsn.recipients.length > 0) {
    return dsn.recipients.map((r) => {
      const text = (r.recipient && byAddress.get(r.recipient)) || (r.originalRecipient && byAddress.get(r.originalRecipient)) || (dsn.recipients.length === 1 && blocks.length <= 1 ? (blocks[0]?.text ?? part) : null);
      return { ...r, text: text || null };
    });
  }
  if (blocks.length > 0) {
    const listed = failedHeader.filter((a) => !byAddress.has(a)).map((recipient) => ({ recipient, action, text: part }));
    return [...blocks.map((b) => ({ recipient: b.recipient, action, text: b.text })), ...listed];
  }
  if (failedHeader.length > 0) return failedHeader.map((recipient) => ({ recipient, action, text: part }));
  return [{ recipient: null, action, text: part }];
}

/**
 * True when the start of the text contains one of the (lowercase) literal markers: a cheap test
 * that decoders run before their patterns, on a lowercased copy made once per message.
 */
export function mentions(mail: MailView, ...needles: readonly string[]): boolean {
  let lower = mail.memo.get('lowerHead') as string | undefined;
  if (lower === undefined) mail.memo.set('lowerHead', (lower = mail.head.toLowerCase()));
  return needles.some((n) => lower!.includes(n));
}

/** A bounce marker: the daemon sender, a failure subject, the null sender, a report. */
export function bounceLike(mail: MailView, context: DecodeContext): boolean {
  return looksLikeBounce(mail, context);
}

/** True when a header has a value matching `re`. */
export function headerMatches(mail: MailView, name: string, re: RegExp): boolean {
  return (mail.headers.get(name) ?? []).some((v) => re.test(v));
}

/** True when the reporting MTA of the DSN part, or the From domain, matches. */
export function fromDomain(mail: MailView, re: RegExp): boolean {
  return senderHosts(mail).some((h) => re.test(h));
}

/** The From domain and the reporting MTAs of a message, read once per message. */
function senderHosts(mail: MailView): string[] {
  let hosts = mail.memo.get('senderHosts') as string[] | undefined;
  if (!hosts) {
    hosts = mail.from ? [mail.from.slice(mail.from.indexOf('@') + 1)] : [];
    for (const d of mail.deliveryStatus) {
      const m = /^reporting-mta:[ \t]*(?:dns;[ \t]*)?(\S+)/im.exec(d);
      if (m) hosts.push(m[1]!.toLowerCase());
    }
    mail.memo.set('senderHosts', hosts);
  }
  return hosts;
}
