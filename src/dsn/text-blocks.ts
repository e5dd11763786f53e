/**
 * How bounce reports lay out their human-readable text: where the report's part starts and ends,
 * the lines that open one recipient's paragraph, recipients named in sentences, and a reason
 * written once for several recipients. Every pattern works line by line, or on capped text, and
 * has bounded quantifiers only.
 */

/** An address as MTAs write them in text (bounded lengths, so no pattern can run away). */
export const ADDRESS = String.raw`[^\s<>()\[\]@,;:"'\\]{1,64}@[A-Za-z0-9\u00a0-\uffff](?:[A-Za-z0-9\u00a0-\uffff-]{0,62}\.){1,8}[A-Za-z\u00a0-\uffff][A-Za-z0-9\u00a0-\uffff-]{0,62}`;

/**
 * A line that opens one recipient's block: the address alone or first on its line (bare, in
 * angle brackets, after a label such as `Recipient:`), followed by the end of the line or by
 * what MTAs put after it (`:`, `...`, `,`, ` on <date>`, `(`, ` - `). A label counts only when
 * a separator (`:`, `=`, a space, `<`, a quote) follows it: `userx@a.example` is an address.
 */
export const DEFAULT_INTRO = new RegExp(
  String.raw`^[ \t]*(?:[-*>][ \t]*)?(?:(?:(?:final[- ]|original[- ])?(?:recipient|addressee)(?:[- ]address)?s?|address|user|to|rcpt(?:[ \t]+to)?)(?=[ \t:=<"])[ \t]*)?(?:[:=][ \t]*)?"?<?(${ADDRESS})>?"?(?:[ \t]*(?::|\.\.\.|,|;|\(|\[|<mailto:|$)|[ \t]+(?:on[ \t]|-))`,
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
const SINGLE_LINE = new Map<RegExp, RegExp>();

/** The intro pattern without the g and m flags (one line at a time), made once per pattern. */
function singleLine(intro: RegExp): RegExp {
  let re = SINGLE_LINE.get(intro);
  if (!re) SINGLE_LINE.set(intro, (re = /[gm]/.test(intro.flags) ? new RegExp(intro.source, intro.flags.replace(/[gm]/g, '')) : intro));
  return re;
}

export function recipientBlocks(text: string, exclude: ReadonlySet<string>, intro: RegExp = DEFAULT_INTRO): RecipientBlock[] {
  const re = singleLine(intro);
  const lines = text.split(/\r\n|\r|\n/);
  // First pass: the recipients. Second: each line goes to the recipient it names (a transcript
  // line `<<< 550 <a@x>... User unknown` belongs to a@x wherever it is), else to the current one.
  const openers = lines.map((line, i): string | null => {
    if (line.length > 1000 || !line.includes('@')) return null;
    const m = re.exec(line);
    const address = m ? cleanAddress(m[1]!) : null;
    if (!address || exclude.has(address) || isExampleAddress(address)) return null;
    // `To: a@x` among `From:`, `Subject:`, `Date:` lines: a header summary (the report's own
    // headers, a quoted message), not a line about a failed recipient.
    if (SUMMARY_ADDRESS.test(line) && (SUMMARY_LINE.test(lines[i - 1] ?? '') || SUMMARY_LINE.test(lines[i + 1] ?? ''))) return null;
    return address;
  });
  const known: string[] = [];
  for (const a of openers) if (a && !known.includes(a) && known.length < 100) known.push(a);
  const blocks = new Map<string, string[]>(known.map((a) => [a, []]));
  const sizes = new Map<string, number>();
  let current: string | null = null;
  lines.forEach((line, i) => {
    const a = openers[i];
    if (a && blocks.has(a)) current = a;
    else if (known.length > 1 && line.includes('@')) {
      const lower = line.toLowerCase();
      const named = known.filter((k) => lower.includes(k));
      if (named.length === 1) current = named[0]!;
    }
    if (current === null) return;
    const size = sizes.get(current) ?? 0;
    if (size < MAX_BLOCK) {
      blocks.get(current)!.push(line);
      sizes.set(current, size + line.length + 1);
    }
  });
  return [...blocks.entries()].map(([recipient, ls]) => ({ recipient, text: ls.join('\n').trim() }));
}

export function cleanAddress(value: string): string | null {
  if (value.length > 1000) return null;
  const v = value.trim().replace(/^<|>$/g, '').replace(/(?<![.,;:])[.,;:]+$/, '').toLowerCase();
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v) ? v : null;
}

const IN_SENTENCE = new RegExp(String.raw`\b(?:to|for|recipients?|address(?:ee)?|user|mailbox|rcpt to)(?:[ \t]{0,20}:[ \t]{0,20}<?|[ \t]{1,20}<?|<)(${ADDRESS})>?`, 'gi');
const ANGLED = new RegExp(String.raw`<(${ADDRESS})>`, 'g');
const ANYWHERE = new RegExp(String.raw`(?<![\w.+-])(${ADDRESS})`, 'g');
const NOT_A_RECIPIENT = /^(postmaster|mailer-daemon|abuse|hostmaster|webmaster|no-?reply|support|help|helpdesk)@/i;

/** Header lines of a summary: `To:`/`Cc:` with an address, next to `From:`, `Subject:`, `Date:`... */
const SUMMARY_ADDRESS = /^[ \t]{0,20}(?:>[ \t]{0,20})?(?:to|cc):/i;
const SUMMARY_LINE = /^[ \t]{0,20}(?:>[ \t]{0,20})?(?:from|subject|date|sent|cc|to|reply-to|message-id|return-path):[ \t]{0,20}\S/i;

/**
 * Addresses that help text writes and that are never a failed recipient: the daemons, and the
 * examples of documentation (`user@example.com`, `you@yourdomain.com`).
 */
const EXAMPLE = /^(?:postmaster|mailer-daemon|(?:user|username|user\.name|name|someone|somebody|you|yourname|your\.name|john\.doe|jane\.doe|jdoe|foo|bar|recipient|address|email|e-mail|mailbox|info)@(?:example\.(?:com|net|org|tld)|(?:your|my)?domain\.(?:com|tld|example)|host\.(?:com|tld)))(?:@|$)/i;

export function isExampleAddress(address: string): boolean {
  return EXAMPLE.test(address);
}

/**
 * Recipients named in sentences ("delivery to <a@x> failed", "Your message to a@x ...", a label
 * followed by a separator: "tom@x" is not "m@x"), else
 * in angle brackets, else (at most three) anywhere, for reports that put no address at the start
 * of a line. Never the report's own addresses, nor postmaster-like ones.
 */
export function proseRecipients(text: string, exclude: ReadonlySet<string>): string[] {
  const capped = text.slice(0, 32 * 1024);
  for (const re of [IN_SENTENCE, ANGLED, ANYWHERE]) {
    const found: string[] = [];
    for (const m of capped.matchAll(re)) {
      const a = cleanAddress(m[1]!);
      const at = m.index + m[0].indexOf(m[1]!);
      // A link in help text (`mailto:help@isp.example`) names no recipient.
      const link = /mailto:$/i.test(capped.slice(Math.max(0, at - 7), at));
      if (a && !link && !exclude.has(a) && !NOT_A_RECIPIENT.test(a) && !isExampleAddress(a) && !found.includes(a)) found.push(a);
      if (found.length >= 20) break;
    }
    if (found.length > 0 && (re !== ANYWHERE || found.length <= 3)) return found;
  }
  return [];
}

const ANY_CODE = /(?<![A-Za-z0-9.])[245]\.[0-7]\.\d{1,3}(?!\d)|(?<!\d)[45][0-5]\d(?=[ \t-]+\S)/;

/**
 * Reports that write the reason once, before the addresses ("Could not be delivered because of
 * 550 5.1.1 User unknown. The following recipients were affected: a@x"): the text before the
 * first address is added to a single recipient's block, and to every block without a code of
 * its own when it holds one.
 */
export function withSharedContext(blocks: RecipientBlock[], part: string): RecipientBlock[] {
  if (blocks.length === 0) return blocks;
  const first = part.toLowerCase().indexOf(blocks[0]!.recipient);
  const lineStart = first > 0 ? part.lastIndexOf('\n', first) + 1 : 0;
  const preamble = part.slice(Math.max(0, lineStart - 4000), lineStart).trim();
  if (!preamble) return blocks;
  if (blocks.length === 1) return [{ recipient: blocks[0]!.recipient, text: `${blocks[0]!.text}\n${preamble}` }];
  if (!ANY_CODE.test(preamble)) return blocks;
  return blocks.map((b) => (ANY_CODE.test(b.text) ? b : { recipient: b.recipient, text: `${b.text}\n${preamble}` }));
}
