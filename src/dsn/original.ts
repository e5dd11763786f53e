/**
 * The returned original as text bounces quote it: a run of header lines (`Return-Path:`,
 * `Message-ID:`, `From:`...) inside the report's text, possibly indented or quoted with `>`.
 * These identify the send as well as a `message/rfc822` part does.
 */

const HEADER_LINE = /^[ \t]*(?:>[ \t]*)?([A-Za-z][A-Za-z0-9-]{1,60}):[ \t]*(.*)$/;
const KNOWN = new Set(['return-path', 'received', 'message-id', 'from', 'to', 'cc', 'subject', 'date', 'mime-version', 'content-type', 'reply-to', 'sender', 'list-unsubscribe', 'list-id', 'dkim-signature', 'delivered-to', 'x-mailer']);
const MAX_SCAN = 256 * 1024;
const MAX_OUT = 64 * 1024;

/** Header blocks quoted in a text: runs of 2+ header lines, 1+ of them a well-known name. */
export function quotedHeaders(text: string): string[] {
  const blocks: string[] = [];
  let run: string[] = [];
  let known = 0;
  let size = 0;
  const flush = (): void => {
    if (run.length >= 2 && known >= 1) {
      const block = run.join('\n');
      if (size + block.length <= MAX_OUT) {
        blocks.push(block);
        size += block.length;
      }
    }
    run = [];
    known = 0;
  };
  for (const line of text.slice(0, MAX_SCAN).split(/\r\n|\r|\n/)) {
    const m = line.length <= 2000 ? HEADER_LINE.exec(line) : null;
    if (m) {
      run.push(`${m[1]}: ${m[2]}`);
      if (KNOWN.has(m[1]!.toLowerCase())) known++;
    } else if (run.length > 0 && /^[ \t]+\S/.test(line) && line.trim() !== '>') {
      run[run.length - 1] += ` ${line.trim()}`;
    } else {
      flush();
    }
  }
  flush();
  return blocks;
}

/**
 * The Message-IDs named by `Message-ID:` lines of header blocks, and by the `Original-Message-ID`
 * / `X-Original-Message-ID` fields of reports, without angle brackets.
 */
export function messageIdsIn(headerBlocks: readonly string[]): string[] {
  const ids: string[] = [];
  for (const block of headerBlocks) {
    for (const m of block.matchAll(/^[ \t]*(?:x-)?(?:original-)?message-id:[ \t]*<?([^\s<>]{1,250}@[^\s<>]{1,250})>?/gim)) {
      if (!ids.includes(m[1]!)) ids.push(m[1]!);
    }
  }
  return ids;
}
