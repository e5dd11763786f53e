import { simpleParser, type Attachment } from 'mailparser';
import { htmlToText } from './html-text.js';

/**
 * What the decoders see of a message: its headers, its readable text, and the machine-readable
 * parts a bounce may carry. Built with mailparser; never throws.
 */
export interface MailView {
  /** Lowercased header name -> unfolded raw values, in order. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly from: string | null;
  readonly subject: string;
  readonly messageId: string | null;
  /** `type/subtype` of the top-level part, lowercased. */
  readonly contentType: string;
  /** `report-type` parameter of a multipart/report, lowercased. */
  readonly reportType: string | null;
  /** The plain text of the message (text/plain parts, or HTML reduced to text). */
  readonly text: string;
  /** The start of the text, where the markers of a format are: what decoders test to recognise one. */
  readonly head: string;
  /** Bodies of message/delivery-status and message/global-delivery-status parts. */
  readonly deliveryStatus: readonly string[];
  /** Bodies of message/feedback-report parts (ARF). */
  readonly feedbackReports: readonly string[];
  /** Header sections of returned originals (message/rfc822, text/rfc822-headers, message/global*). */
  readonly originalHeaders: readonly string[];
  /** Returned originals as raw bytes, for decoders that look inside them. */
  readonly embedded: readonly Buffer[];
  /** What went wrong while reading the MIME structure (the view is then best effort). */
  readonly problems: readonly string[];
  /** Answers computed once per message by the decoders' shared questions (see signals.ts). */
  readonly memo: Map<string, unknown>;
}

export interface MimeLimits {
  /** Largest header block of one MIME part, bytes. */
  readonly maxHeadBytes: number;
  /** Most MIME parts in one message. */
  readonly maxParts: number;
}

export const DEFAULT_MIME_LIMITS: MimeLimits = { maxHeadBytes: 256 * 1024, maxParts: 500 };

const DSN_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const ORIGINAL_TYPES = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers', 'message/rfc822-headers']);
// Text is capped so that a huge body cannot make every later regular expression slow.
const MAX_TEXT = 256 * 1024;
// Format markers are at the top of a report: recognising one never scans a long quoted original.
const HEAD_CHARS = 16 * 1024;

/**
 * The parse reads the first MiB of a message: a report's text, its delivery-status part and the
 * returned original's headers come first; what a larger bounce adds is the rest of the returned
 * original (its attachments), which says nothing more. This bounds the memory a parse takes.
 */
export const PARSE_MAX_BYTES = 1024 * 1024;

/**
 * The memory the parse of a message of `bytes` takes beyond its raw bytes, at most: mailparser's
 * decoded parts and text, our copies of them (measured at 3.5 to 6 times the bytes read, for
 * text, HTML, quoted-printable, base64 attachments and returned originals), and the copy of the
 * whole message handed to a parse thread. The SMTP budget (`smtp.maxBufferedBytes`) counts it.
 */
export function parseCopyBytes(bytes: number): number {
  return 6 * Math.min(bytes, PARSE_MAX_BYTES) + bytes;
}

export async function readMail(input: Buffer, limits: MimeLimits = DEFAULT_MIME_LIMITS): Promise<MailView> {
  const raw = withLineFeeds(input.length > PARSE_MAX_BYTES ? input.subarray(0, PARSE_MAX_BYTES) : input);
  try {
    const parsed = await simpleParser(raw, {
      keepDeliveryStatus: true,
      // HTML is reduced to text by htmlToText (line breaks for blocks and cells, linear time).
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      skipImageLinks: true,
      checksumAlgo: false,
      ignoreEmbedded: true,
      maxHeadSize: limits.maxHeadBytes,
      maxChildNodes: limits.maxParts,
      maxHtmlLengthToParse: MAX_TEXT,
    });
    const headers = collectHeaders(parsed.headerLines.map((h) => h.line));
    const ct = structured(parsed.headers.get('content-type'));
    const deliveryStatus: string[] = [];
    const feedbackReports: string[] = [];
    const originalHeaders: string[] = [];
    const embedded: Buffer[] = [];
    const attachedText: string[] = [];
    const attachedHtml: string[] = [];
    for (const att of parsed.attachments as Attachment[]) {
      const type = (att.contentType || '').toLowerCase();
      // application/json: an event notification (Amazon SES) sent as a JSON part or body.
      if ((type === 'text/plain' || type === 'application/json') && att.content.length <= MAX_TEXT) attachedText.push(att.content.toString('utf8'));
      else if (type === 'text/html' && att.content.length <= MAX_TEXT * 2) attachedHtml.push(att.content.toString('utf8'));
      else if (DSN_TYPES.has(type)) deliveryStatus.push(decodeText(att.content, type === 'message/global-delivery-status'));
      else if (type === 'message/feedback-report') feedbackReports.push(decodeText(att.content, false));
      else if (ORIGINAL_TYPES.has(type)) {
        originalHeaders.push(headerSection(att.content));
        if (type === 'message/rfc822' || type === 'message/global') embedded.push(att.content);
      }
    }
    // A notification sent as a text attachment ("details.txt"), or a multipart whose boundary
    // matches nothing: read what there is rather than an empty text.
    let body = parsed.text ?? '';
    // A report in HTML only (or with an empty text part): its text, read like a text report.
    if (!body.trim() && typeof parsed.html === 'string' && parsed.html.trim()) body = htmlToText(parsed.html);
    if (!body.trim() && attachedText.length > 0) body = attachedText.join('\n');
    if (!body.trim() && attachedHtml.length > 0) body = htmlToText(attachedHtml.join('\n'));
    if (!body.trim() && parsed.attachments.length === 0) body = bodyOf(raw);
    const text = body.slice(0, MAX_TEXT);
    const problems = parsed.headerLines.length === 0 ? ['no header found: not an email message'] : [];
    return {
      headers,
      from: parsed.from?.value?.[0]?.address?.toLowerCase() ?? firstAddress(headers.get('from')?.[0]),
      subject: parsed.subject ?? '',
      messageId: parsed.messageId ?? null,
      contentType: (ct?.value ?? 'text/plain').toLowerCase(),
      reportType: ct?.params?.['report-type']?.toLowerCase() ?? null,
      text,
      head: text.slice(0, HEAD_CHARS),
      deliveryStatus,
      feedbackReports,
      originalHeaders,
      embedded,
      problems,
      memo: new Map(),
    };
  } catch (err) {
    return crudeView(raw, `MIME parsing failed: ${(err as Error).message}`);
  }
}

/**
 * A message whose lines end in a bare CR (old Mac mail, some gateways) gets CRLF endings, so
 * that the MIME parser sees its lines. Messages with LF or CRLF endings are returned as they are.
 */
export function withLineFeeds(raw: Buffer): Buffer {
  const head = raw.subarray(0, 8192);
  if (head.includes(10) || !head.includes(13)) return raw;
  return Buffer.from(raw.toString('latin1').replace(/\r/g, '\r\n'), 'latin1');
}

/** A view from a plain split of headers and body, for input mailparser refuses. */
export function crudeView(raw: Buffer, problem: string): MailView {
  const text = withLineFeeds(raw).subarray(0, MAX_TEXT * 2).toString('latin1');
  const split = /\r?\n\r?\n/.exec(text);
  const head = split ? text.slice(0, split.index) : text;
  const body = split ? text.slice(split.index + split[0].length) : '';
  const headers = collectHeaders(splitHeaderLines(head));
  return {
    headers,
    from: firstAddress(headers.get('from')?.[0]),
    subject: headers.get('subject')?.[0] ?? '',
    messageId: headers.get('message-id')?.[0]?.trim() ?? null,
    contentType: (headers.get('content-type')?.[0] ?? 'text/plain').split(';')[0]!.trim().toLowerCase(),
    reportType: null,
    text: body.slice(0, MAX_TEXT),
    head: body.slice(0, HEAD_CHARS),
    deliveryStatus: [],
    feedbackReports: [],
    originalHeaders: [],
    embedded: [],
    problems: [problem],
    memo: new Map(),
  };
}

function structured(value: unknown): { value: string; params: Record<string, string> } | null {
  if (!value || typeof value !== 'object' || !('value' in value) || typeof value.value !== 'string') return null;
  const params = 'params' in value && value.params && typeof value.params === 'object' ? (value.params as Record<string, string>) : {};
  return { value: value.value, params };
}

function decodeText(content: Buffer, utf8: boolean): string {
  return content.toString(utf8 ? 'utf8' : 'latin1').slice(0, MAX_TEXT);
}

/** The raw body of a message (after the first empty line), as latin1 text, capped. */
function bodyOf(raw: Buffer): string {
  const text = raw.subarray(0, MAX_TEXT * 2).toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  return m ? text.slice(m.index + m[0].length) : '';
}

/** The header section of a message (everything before the first empty line). */
export function headerSection(content: Buffer): string {
  const text = content.subarray(0, 256 * 1024).toString('utf8');
  const m = /\r?\n\r?\n/.exec(text);
  return m ? text.slice(0, m.index) : text;
}

/** Splits a header block into logical lines (a line plus its continuation lines). */
export function splitHeaderLines(head: string): string[] {
  const lines: string[] = [];
  for (const line of head.split(/\r\n|\r|\n/)) {
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += `\n${line}`;
    else if (line.length > 0) lines.push(line);
  }
  return lines;
}

/** Builds lowercased name -> unfolded values from logical header lines. */
export function collectHeaders(lines: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
    const list = map.get(name);
    if (list) list.push(value);
    else map.set(name, [value]);
  }
  return map;
}

/** The first `local@domain` in a header value, lowercased. */
export function firstAddress(value: string | undefined | null): string | null {
  if (!value) return null;
  const angle = /<\s*([^<>\s@]+@[^<>\s]+)\s*>/.exec(value);
  if (angle) return angle[1]!.toLowerCase();
  const bare = /(?<![^\s<>(),;:"])([^\s<>(),;:"]+@[^\s<>(),;:"]+)/.exec(value);
  return bare ? bare[1]!.toLowerCase().replace(/\.$/, '') : null;
}
