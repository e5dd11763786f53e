/**
 * Hostile variants of real messages: long runs of one character (or a short mixture) put where
 * the parser's patterns look (after the headers, the report's intro, DSN fields, quoted text,
 * SMTP replies and transcripts, the subject), as 1 KiB lines or as one 200 KiB line. Used by the
 * linear-time test and by the fuzzer.
 */

/** The runs: each repeated to length, then followed by a tail the patterns may not expect. */
export const RUNS: Readonly<Record<string, string>> = {
  blanks: ' ',
  tabs: '\t',
  quotes: '>',
  dashes: '-',
  dots: '.',
  digits: '5',
  letters: 'a',
  at: '@',
  equals: '=',
  lt: '<',
  semicolons: ';',
  'blank-tab': ' \t',
  'quote-blank': '> ',
  'dash-blank': '- ',
  'at-letter': 'a@',
  'dot-letter': 'a.',
  'colon-blank': ': ',
  reply: '550 5.1.1 ',
  mixed: ' \t>-.5a@=<;:',
};

/** What ends a run: nothing special, an address, a colon, an SMTP answer, the end of the line. */
const TAILS = ['x', ' user@example.com x', ':', '550 5.1.1 <user@example.com>... x', '!', ''];

export const PLACES = ['headers', 'intro', 'fields', 'quoted', 'smtp', 'subject'] as const;
export type Place = (typeof PLACES)[number];

export type Shape = 'lines' | 'line';

function repeat(unit: string, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** `count` lines of about 1 KiB, each a run and one of the tails. */
export function runLines(unit: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const tail = TAILS[i % TAILS.length]!;
    return repeat(unit, 1023 - tail.length) + tail;
  });
}

/** One line of about `size` bytes: the run four times, each followed by a tail. */
export function runLine(unit: string, size = 200 * 1024): string {
  const quarter = Math.floor(size / 4);
  return [0, 1, 2, 3].map((i) => repeat(unit, quarter - TAILS[i]!.length) + TAILS[i]).join('');
}

/** Ordinary prose lines of about 1 KiB, for the benign message of the same size. */
export function proseLines(count: number): string[] {
  const words = 'the delivery of the message was attempted again later and the report was written by the server for the sender of the campaign'.split(' ');
  return Array.from({ length: count }, (_, i) => {
    let line = '';
    for (let w = i; line.length < 1000; w += 7) line += `${words[w % words.length]} `;
    return line.trimEnd();
  });
}

const PLACE_LINE: Readonly<Record<Exclude<Place, 'headers' | 'subject'>, RegExp>> = {
  intro: /@/,
  fields: /^(final-recipient|action|status|diagnostic-code|remote-mta|original-recipient):/i,
  quoted: /^(>|return-path:|message-id:|received:)/i,
  smtp: /<<<|>>>|said:|\b[45]\d\d[ -][245]\.\d|\brcpt to\b|\bhost\b/i,
};

/** Where the body text starts: after the top headers, or after a text/plain part's headers. */
function bodyStart(lines: readonly string[]): number {
  const firstBlank = lines.findIndex((l) => l === '');
  if (firstBlank < 0) return lines.length;
  const multipart = lines.slice(0, firstBlank).some((l) => /^content-type:\s*multipart\//i.test(l));
  if (!multipart) return firstBlank + 1;
  const textPart = lines.findIndex((l, i) => i > firstBlank && /^content-type:\s*text\/plain/i.test(l));
  if (textPart < 0) return firstBlank + 1;
  const blank = lines.findIndex((l, i) => i > textPart && l === '');
  return blank < 0 ? firstBlank + 1 : blank + 1;
}

/** The line after which a place's lines go, or -1 when the message has no such place. */
function anchor(lines: readonly string[], place: Place): number {
  const start = bodyStart(lines);
  if (place === 'headers') return start - 1;
  if (place === 'subject') return lines.findIndex((l, i) => i < start && /^subject:/i.test(l));
  const re = PLACE_LINE[place];
  return lines.findIndex((l, i) => i >= start && re.test(l));
}

/**
 * The message with `inserted(place)` lines put after each place's line (the subject gets them
 * as folded continuation lines; the fields line also gets the first one appended to it).
 */
export function inject(raw: Buffer, places: readonly Place[], inserted: (place: Place) => string[]): Buffer {
  const text = raw.toString('latin1');
  const eol = text.includes('\r\n') ? '\r\n' : text.includes('\n') ? '\n' : '\r';
  const lines = text.split(/\r\n|\r|\n/);
  const additions = new Map<number, string[]>();
  for (const place of places) {
    const at = anchor(lines, place);
    if (at < 0) continue;
    let added = inserted(place);
    if (place === 'subject') added = added.map((l) => ` ${l}`);
    if (place === 'fields' && added.length > 0) {
      lines[at] += ` ${added[0]}`;
      added = added.slice(1);
    }
    additions.set(at, [...(additions.get(at) ?? []), ...added]);
  }
  const out: string[] = [];
  lines.forEach((line, i) => {
    out.push(line);
    const add = additions.get(i);
    if (add) out.push(...add);
  });
  return Buffer.from(out.join(eol), 'latin1');
}

/** The places a message has. */
export function placesOf(raw: Buffer): Place[] {
  const lines = raw.toString('latin1').split(/\r\n|\r|\n/);
  return PLACES.filter((p) => anchor(lines, p) >= 0);
}
