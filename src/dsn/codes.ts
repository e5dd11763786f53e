import type { StatusClass, StatusCode } from '../domain/status-code.js';

/**
 * Status codes written in prose, the way MTAs write them: `550 5.1.1`, `550-5.1.1` (a
 * multi-line SMTP reply), `#5.1.1` (qmail, Exchange 2003), `(#5.1.1)`, `5.1.1;`, and bare SMTP
 * reply codes (`said: 550 ...`, `<<< 550 ...`, `ERROR CODE :550`). Every pattern is linear (no
 * nested quantifiers) and the text is capped by the caller.
 */

// An enhanced code: not glued to a word, a digit or a dot-digit on either side (so IP addresses,
// version numbers like 4.94.2 and dates are not taken). Real subjects are 0 to 7.
const ENHANCED = /(?<![A-Za-z0-9.])([245])\.([0-7])\.(\d{1,3})(?![\d]|\.\d)/g;

// A basic SMTP reply code where MTAs write one: at the start of a line (after quoting or the
// `<<<` of a transcript), or after words that introduce a server's answer.
const REPLY = /(?:^[ \t>]*(?:(?:<<<|\*\*\*|#)[ \t]*)?|\b(?:(?:said|returned|answered|response|reason|error|reply|code|was)[ \t]*:|smtp[ \t]*;|said|returned|error)[ \t]*\(?|(?<=\S)[ \t]*:[ \t]+)([245][0-5]\d)(?=[ \t-]+\S|[ \t]*$|\)|:)/gim;

/** Every enhanced status code written in a text, in order. */
export function enhancedCodes(text: string | null | undefined): StatusCode[] {
  if (!text) return [];
  const found: StatusCode[] = [];
  for (const m of text.matchAll(ENHANCED)) {
    found.push({ cls: Number(m[1]) as StatusClass, subject: Number(m[2]), detail: Number(m[3]) });
  }
  return found;
}

/** The first enhanced code of a field value such as `5.1.1` or `5.0.0 (permanent failure)`. */
export function leadingCode(value: string | null | undefined): StatusCode | null {
  if (!value) return null;
  const m = /^\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\d)/.exec(value);
  return m ? { cls: Number(m[1]) as StatusClass, subject: Number(m[2]), detail: Number(m[3]) } : null;
}

/** Every basic SMTP reply code (`550`) written where a server's answer is quoted, in order. */
export function replyCodes(text: string | null | undefined): number[] {
  if (!text) return [];
  const found: number[] = [];
  for (const m of text.matchAll(REPLY)) found.push(Number(m[1]));
  return found;
}

/**
 * The enhanced code a bare SMTP reply code stands for (RFC 5321's meaning of each reply, in
 * RFC 3463's terms). Only failure replies; a reply with no definite meaning gives `X.0.0`.
 */
const REPLY_MEANING: Readonly<Record<number, string>> = {
  421: '4.3.2', // service not available, closing channel
  450: '4.2.0', // mailbox unavailable (busy)
  451: '4.3.0', // local error in processing
  452: '4.3.1', // insufficient system storage
  455: '4.5.4', // unable to accommodate parameters
  500: '5.5.2', // syntax error, command unrecognised
  501: '5.5.4', // syntax error in parameters or arguments
  502: '5.5.1', // command not implemented
  503: '5.5.1', // bad sequence of commands
  504: '5.5.4', // parameter not implemented
  521: '5.3.2', // host does not accept mail
  530: '5.7.0', // authentication required
  550: '5.0.0', // mailbox unavailable: not found, no access, or policy: no definite meaning
  551: '5.1.6', // user not local
  552: '5.2.2', // exceeded storage allocation
  553: '5.1.3', // mailbox name not allowed
  554: '5.0.0', // transaction failed
  556: '5.1.10', // domain does not accept mail (RFC 7504)
};

export function replyCodeStatus(reply: number): string | null {
  if (reply < 400 || reply >= 600) return null;
  return REPLY_MEANING[reply] ?? `${Math.floor(reply / 100)}.0.0`;
}
