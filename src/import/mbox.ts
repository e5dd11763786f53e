import { createReadStream } from 'node:fs';

/**
 * Reading mbox files: messages separated by `From ` lines. Only a proper separator starts a
 * message: `From <sender> <date>` with a time of day or after a blank line, followed by a header
 * line. A body line that starts
 * with `From ` (a quote, "From the desk of...") stays in its message, escaped or not; `>From `
 * lines are unescaped (mboxrd). Every test works on one line and is bounded.
 */

export interface MboxMessage {
  readonly raw: Buffer;
  /** The date of the From_ line, when it has one that can be read. */
  readonly date: Date | null;
  /** Bytes of the file read so far. */
  readonly bytesRead: number;
}

/** `From sender Sat Nov 28 08:01:11 2026`: a sender, then a date. */
const SEPARATOR = /^From [^\s]{1,1000}[ \t]{1,20}([^\s][^\r\n]{0,300})/;
const TIME_OF_DAY = /\d:\d\d/;
/** A header field line: what follows a separator. */
const HEADER_LINE = /^[\x21-\x39\x3b-\x7e]{1,200}:/;

/**
 * True when the line can separate two messages: `From sender date`, with a time of day in the
 * date or after a blank line (the next line still has to be a header).
 */
export function isSeparator(line: string, afterBlank: boolean): boolean {
  const m = SEPARATOR.exec(line);
  return m !== null && (afterBlank || TIME_OF_DAY.test(m[1]!));
}

/** The date written on a From_ line (asctime, without a zone: UTC), when it has a time of day. */
export function separatorDate(line: string): Date | null {
  const m = SEPARATOR.exec(line);
  if (!m) return null;
  const text = m[1]!.trim();
  if (!TIME_OF_DAY.test(text)) return null;
  const date = new Date(/[+-]\d\d:?\d\d|\b(?:Z|UTC|GMT)\b/i.test(text) ? text : `${text} +0000`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * A single message that begins with an mbox `From ` line (a message saved by a mail program):
 * the same message without that line.
 */
export function withoutFromLine(raw: Buffer): Buffer {
  if (raw.length < 5 || raw.toString('latin1', 0, 5) !== 'From ') return raw;
  const end = raw.indexOf(10);
  return end < 0 ? raw : raw.subarray(end + 1);
}

/** Every message of an mbox file, in order. Lines before the first separator are ignored. */
export async function* readMbox(path: string): AsyncGenerator<MboxMessage> {
  let lines: string[] = [];
  let date: Date | null = null;
  let started = false;
  let pending: string | null = null; // a separator line waiting for the next line
  let remainder = '';
  let bytesRead = 0;
  let afterBlank = true;
  const message = (): MboxMessage => {
    // The blank line before a separator belongs to the mbox, not to the message.
    const last = lines[lines.length - 1];
    if (last === '\n' || last === '\r\n') lines.pop();
    return { raw: Buffer.from(lines.join(''), 'latin1'), date, bytesRead };
  };
  function* take(line: string): Generator<MboxMessage> {
    if (pending !== null) {
      const separator = pending;
      pending = null;
      if (HEADER_LINE.test(line) || !started) {
        if (started) yield message();
        started = true;
        lines = [];
        date = separatorDate(separator);
      } else {
        lines.push(separator);
      }
    }
    const blank = afterBlank;
    afterBlank = line === '\n' || line === '\r\n';
    if (line.startsWith('From ') && (!started || isSeparator(line, blank))) {
      pending = line;
      return;
    }
    if (started) lines.push(line.startsWith('>') && /^>+From /.test(line) ? line.slice(1) : line);
  }
  for await (const chunk of createReadStream(path)) {
    bytesRead += (chunk as Buffer).length;
    const text = remainder + (chunk as Buffer).toString('latin1');
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      yield* take(text.slice(from, nl + 1));
      from = nl + 1;
    }
    remainder = text.slice(from);
  }
  if (remainder) yield* take(remainder);
  if (pending !== null) yield* take('');
  if (started) yield message();
}
