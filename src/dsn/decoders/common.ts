import { parseFieldGroups, typedAddress, typedValue, type FieldGroup } from '../fields.js';
import { firstAddress, type MailView } from '../mime.js';
import { remoteMtaIn, remoteMtasIn } from '../remote-mta.js';
import { looksLikeBounce, textSaysDelay } from '../signals.js';
import type { DecodeContext, Decoded, Decoder, RawRecipient } from '../types.js';

/**
 * What the decoders share: reading the RFC 3464 fields when a report carries them, cutting the
 * human-readable part into one block per recipient, and the common shape of a decoder for one
 * MTA's format. Every pattern here works line by line on capped text.
 */

/** An address as MTAs write them in text (bounded lengths, so no pattern can run away). */
export const ADDRESS = String.raw`[^\s<>()\[\]@,;:"'\\]{1,64}@[A-Za-z0-9\u00a0-\uffff](?:[A-Za-z0-9\u00a0-\uffff-]{0,62}\.){1,8}[A-Za-z\u00a0-\uffff][A-Za-z0-9\u00a0-\uffff-]{0,62}`;

/**
 * A line that opens one recipient's block: the address alone or first on its line (bare, in
 * angle brackets, after a label such as `Recipient:`), followed by the end of the line or by
 * what MTAs put after it (`:`, `...`, `,`, ` on <date>`, `(`, ` - `).
 */
export const DEFAULT_INTRO = new RegExp(
  String.raw`^[ \t]*(?:[-*>][ \t]*)?(?:(?:final[- ]|original[- ])?(?:recipient|addressee)(?:[- ]address)?s?|address|user|to|rcpt(?:[ \t]+to)?)?[ \t]*[:=]?[ \t]*"?<?(${ADDRESS})>?"?[ \t]*(?::|\.\.\.|,|;|[ \t]+on[ \t]|[ \t]*\(|[ \t]*\[|[ \t]*<mailto:|[ \t]+-|[ \t]*$)`,
  'im',
);

/** A transcript line naming a recipient: `>>> RCPT TO:<a@x>`, `Sent <<< RCPT TO:<a@x>`. */
export const RCPT_INTRO = new RegExp(String.raw`\brcpt to:[ \t]*<(${ADDRESS})>`, 'i');

/** Markers after which the text is the returned original, not the report. */
export const ORIGINAL_FOLLOWS = /^[ \t]*\|?(?:-+[ \t]*)?(?:(?:the )?original message(?! was received)|below this line is a copy|this is a copy of the message|a copy of the original message|undelivered message|header of the original message|headers of the original|original message follows|original message headers|the header of the original|message headers? follows?|returned message|your message reads|the text of your message)/im;

const MAX_BLOCK = 4000;

export interface RecipientBlock {
  readonly recipient: string;
  readonly text: string;
}

/** The text between the first match of `start` (excluded) and the first match of `end` after it. */
export function section(text: string, start?: RegExp | null, end: RegExp | null = ORIGINAL_FOLLOWS): string {
  let from = 0;
  if (start) {
    const m = start.exec(text);
    if (!m) return '';
    from = m.index + m[0].length;
  }
  let rest = text.slice(from);
  if (end) {
    const e = end.exec(rest);
    if (e) rest = rest.slice(0, e.index);
  }
  return rest;
}

/**
 * Cuts a report's text into one block per recipient: each line matched by `intro` opens a block
 * for its address; the following lines, up to the next intro, belong to it. Addresses in
 * `exclude` (the bounce's own addressee, its sender) never open a block. The same address
 * opening several blocks gets their texts joined.
 */
export function recipientBlocks(text: string, exclude: ReadonlySet<string>, intro: RegExp = DEFAULT_INTRO): RecipientBlock[] {
  const re = new RegExp(intro.source, intro.flags.replace(/[gm]/g, ''));
  const lines = text.split(/\r\n|\r|\n/);
  const opener = (line: string): string | null => {
    const m = line.length <= 1000 ? re.exec(line) : null;
    const address = m ? cleanAddress(m[1]!) : null;
    return address && !exclude.has(address) ? address : null;
  };
  // First pass: the recipients. Second: each line goes to the recipient it names (a transcript
  // line `<<< 550 <a@x>... User unknown` belongs to a@x wherever it is), else to the current one.
  const known: string[] = [];
  for (const line of lines) {
    const a = opener(line);
    if (a && !known.includes(a) && known.length < 100) known.push(a);
  }
  const blocks = new Map<string, string[]>(known.map((a) => [a, []]));
  const sizes = new Map<string, number>();
  let current: string | null = null;
  for (const line of lines) {
    const a = opener(line);
    if (a && blocks.has(a)) current = a;
    else if (known.length > 1 && line.includes('@')) {
      const lower = line.toLowerCase();
      const named = known.filter((k) => lower.includes(k));
      if (named.length === 1) current = named[0]!;
    }
    if (current === null) continue;
    const size = sizes.get(current) ?? 0;
    if (size < MAX_BLOCK) {
      blocks.get(current)!.push(line);
      sizes.set(current, size + line.length + 1);
    }
  }
  return [...blocks.entries()].map(([recipient, ls]) => ({ recipient, text: ls.join('\n').trim() }));
}

export function cleanAddress(value: string): string | null {
  const v = value.trim().replace(/^<|>$/g, '').replace(/[.,;:]+$/, '').toLowerCase();
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v) ? v : null;
}

/** Addresses a bounce is sent to and from: never a failed recipient of it. */
export function ownAddresses(mail: MailView, context: DecodeContext): Set<string> {
  const own = new Set<string>();
  for (const name of ['to', 'delivered-to', 'x-original-to', 'envelope-to']) {
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
    action: group.get('action')?.trim().toLowerCase().split(/[\s(;]/)[0] || null,
    status: group.get('status')?.trim() || null,
    diagnostic: typedValue(group.get('diagnostic-code')),
    remoteMta: hostOf(typedValue(group.get('remote-mta'))),
    lastAttemptDate: group.get('last-attempt-date')?.trim() || null,
  };
}

/** `mx.example. (192.0.2.1, the server for ...)` -> `mx.example`: the host, without comments. */
export function hostOf(value: string | null): string | null {
  if (!value) return null;
  const host = value.trim().split(/[\s(]/)[0]!.replace(/\.$/, '');
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

const IN_SENTENCE = new RegExp(String.raw`(?:\b(?:to|for|recipients?|address(?:ee)?|user|mailbox|rcpt to)\b[ \t]*:?[ \t]*)<?(${ADDRESS})>?`, 'gi');
const ANGLED = new RegExp(String.raw`<(${ADDRESS})>`, 'g');
const ANYWHERE = new RegExp(String.raw`(?<![\w.+-])(${ADDRESS})`, 'g');
const NOT_A_RECIPIENT = /^(postmaster|mailer-daemon|abuse|hostmaster|webmaster|no-?reply|support|help|helpdesk)@/i;

/**
 * Recipients named in sentences ("delivery to <a@x> failed", "Your message to a@x ..."), else
 * in angle brackets, else (at most three) anywhere, for reports that put no address at the start
 * of a line. Never the report's own addresses, nor postmaster-like ones.
 */
export function proseRecipients(text: string, exclude: ReadonlySet<string>): string[] {
  const capped = text.slice(0, 32 * 1024);
  for (const re of [IN_SENTENCE, ANGLED, ANYWHERE]) {
    const found: string[] = [];
    for (const m of capped.matchAll(re)) {
      const a = cleanAddress(m[1]!);
      if (a && !exclude.has(a) && !NOT_A_RECIPIENT.test(a) && !found.includes(a)) found.push(a);
      if (found.length >= 20) break;
    }
    if (found.length > 0 && (re !== ANYWHERE || found.length <= 3)) return found;
  }
  return [];
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
      const part = section(mail.text, format.start ?? null, end) || (format.start ? section(mail.text, null, end) : '');
      const exclude = ownAddresses(mail, context);
      let blocks = format.blocks ? format.blocks(part, exclude, mail) : recipientBlocks(part, exclude, format.intro ?? DEFAULT_INTRO);
      if (blocks.length === 0 && !format.blocks) blocks = recipientBlocks(part, exclude, RCPT_INTRO);
      blocks = withSharedContext(blocks, part);
      const dsn = readDsn(mail) ?? dsnInText(mail.text);
      const recipients = mergeRecipients(dsn, blocks, failedRecipientsHeader(mail), part, action);
      // Nothing opens a line with an address: look for one named in a sentence.
      const named = recipients.length === 1 && recipients[0]!.recipient === null ? proseRecipients(part, exclude) : [];
      const all = named.length > 0 ? named.map((recipient) => ({ ...recipients[0]!, recipient })) : recipients;
      // A transcript shared by the recipients names the one server they all went to.
      const hosts = remoteMtasIn(part);
      const shared = hosts.length === 1 ? hosts[0]! : null;
      return { recipients: all.map((r) => (r.remoteMta || remoteMtaIn(r.text) || !shared ? r : { ...r, remoteMta: shared })), ...perMessageFields(dsn) };
    },
  };
}

const ANY_CODE = /(?<![A-Za-z0-9.])[245]\.[0-7]\.\d{1,3}(?!\d)|(?<!\d)[45][0-5]\d(?=[ \t-]+\S)/;

/**
 * Reports that write the reason once, before the addresses ("Could not be delivered because of
 * 550 5.1.1 User unknown. The following recipients were affected: a@x"): the text before the
 * first address is added to a single recipient's block, and to every block without a code of
 * its own when it holds one.
 */
function withSharedContext(blocks: RecipientBlock[], part: string): RecipientBlock[] {
  if (blocks.length === 0) return blocks;
  const first = part.toLowerCase().indexOf(blocks[0]!.recipient);
  const lineStart = first > 0 ? part.lastIndexOf('\n', first) + 1 : 0;
  const preamble = part.slice(Math.max(0, lineStart - 4000), lineStart).trim();
  if (!preamble) return blocks;
  if (blocks.length === 1) return [{ recipient: blocks[0]!.recipient, text: `${blocks[0]!.text}\n${preamble}` }];
  if (!ANY_CODE.test(preamble)) return blocks;
  return blocks.map((b) => (ANY_CODE.test(b.text) ? b : { recipient: b.recipient, text: `${b.text}\n${preamble}` }));
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

const hostsOf = new WeakMap<MailView, string[]>();

/** The From domain and the reporting MTAs of a message, read once per message. */
function senderHosts(mail: MailView): string[] {
  let hosts = hostsOf.get(mail);
  if (!hosts) {
    hosts = mail.from ? [mail.from.slice(mail.from.indexOf('@') + 1)] : [];
    for (const d of mail.deliveryStatus) {
      const m = /^reporting-mta:[ \t]*(?:dns;)?[ \t]*(\S+)/im.exec(d);
      if (m) hosts.push(m[1]!.toLowerCase());
    }
    hostsOf.set(mail, hosts);
  }
  return hosts;
}
