import { classifyStatus } from '../domain/classify.js';
import { NO_CODE_FOUND, findStatusCodes, formatStatusCode, mostSpecific, parseStatusCode, type StatusCode } from '../domain/status-code.js';
import { DECODERS } from './decoders/index.js';
import { readMail, type MailView, type MimeLimits } from './mime.js';
import { inferFromPhrase } from './phrases.js';
import type { DecodeContext, Decoded, Decoder, ParsedReport, RawRecipient, RecipientReport, ReportKind, StatusSource } from './types.js';

export interface ParseOptions {
  /** Envelope sender: `''` for `<>`. */
  readonly mailFrom?: string | null;
  readonly limits?: MimeLimits;
  readonly decoders?: readonly Decoder[];
}

/** Raw message -> parsed report. Never throws: problems are collected on the result. */
export async function parseMessage(raw: Buffer, options: ParseOptions = {}): Promise<ParsedReport> {
  const mail = await readMail(raw, options.limits);
  return decodeMail(mail, { mailFrom: options.mailFrom ?? null }, options.decoders ?? DECODERS);
}

/**
 * The envelope sender recorded in a stored message's `Return-Path:` header (`''` for `<>`), or
 * null when the message has none: the parse context for a file read from disk.
 */
export function envelopeSenderOf(raw: Buffer): string | null {
  const head = raw.subarray(0, 64 * 1024).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const m = /^return-path:[ \t]*<([^>]*)>/im.exec(end >= 0 ? head.slice(0, end) : head);
  return m ? m[1]!.trim().toLowerCase() : null;
}

export function decodeMail(mail: MailView, context: DecodeContext, decoders: readonly Decoder[] = DECODERS): ParsedReport {
  const problems = [...mail.problems];
  for (const decoder of decoders) {
    let decoded: Decoded | null = null;
    try {
      decoded = decoder.decode(mail, context);
    } catch (err) {
      problems.push(`decoder ${decoder.name} failed: ${(err as Error).message}`);
    }
    if (decoded) return finish(mail, decoder.name, decoded, problems);
  }
  return finish(mail, 'none', { kind: 'unknown', recipients: [] }, problems);
}

function finish(mail: MailView, format: string, decoded: Decoded, problems: string[]): ParsedReport {
  // A report structure with no recipient group is still a bounce: one recipient, no code.
  const raws = decoded.kind === undefined && decoded.recipients.length === 0 ? [{ recipient: null, action: 'failed' }] : decoded.recipients;
  const recipients = raws.map((r) => finishRecipient(r, decoded.kind));
  return {
    format,
    kind: decoded.kind ?? messageKind(recipients),
    recipients,
    reportingMta: decoded.reportingMta ?? null,
    originalEnvelopeId: decoded.originalEnvelopeId ?? null,
    arrivalDate: decoded.arrivalDate ?? null,
    messageId: mail.messageId,
    from: mail.from,
    subject: mail.subject,
    originalHeaders: mail.originalHeaders,
    problems,
  };
}

/** A report is a bounce if any recipient failed; else a delay; else a delivery notice. */
function messageKind(recipients: readonly RecipientReport[]): ReportKind {
  const kinds = new Set(recipients.map((r) => r.kind));
  for (const k of ['bounce', 'delay', 'delivery'] as const) if (kinds.has(k)) return k;
  return 'unknown';
}

export function kindOfAction(action: string | null): ReportKind | null {
  switch (action) {
    case 'failed':
      return 'bounce';
    case 'delayed':
      return 'delay';
    case 'delivered':
    case 'relayed':
    case 'expanded':
      return 'delivery';
    default:
      return null;
  }
}

function finishRecipient(raw: RawRecipient, messageKindHint: ReportKind | undefined): RecipientReport {
  const kind = kindOfAction(raw.action) ?? messageKindHint ?? 'bounce';
  const chosen = chooseStatus(raw, kind);
  let status: string | null = chosen?.code ?? null;
  let statusSource: StatusSource | null = chosen?.source ?? null;
  let type: RecipientReport['type'] = null;
  let description: string | null = null;
  if (kind === 'bounce') {
    const c = classifyStatus(status ?? NO_CODE_FOUND);
    status = c.code;
    statusSource = statusSource ?? 'default';
    type = c.type;
    description = c.description;
  } else if (status && !status.startsWith('2.')) {
    description = classifyStatus(status).description;
  }
  return {
    recipient: raw.recipient,
    originalRecipient: raw.originalRecipient ?? null,
    action: raw.action,
    kind,
    status,
    statusSource,
    type,
    description,
    diagnostic: raw.diagnostic ?? null,
    remoteMta: raw.remoteMta ?? null,
    lastAttemptDate: raw.lastAttemptDate ?? null,
  };
}

/**
 * The most specific code the report carries for this recipient: `Status:` (refined by a more
 * specific diagnostic code), else the diagnostic's code, else a code in the recipient's text,
 * else a code inferred from an unambiguous phrase. Success codes do not count for failures.
 */
function chooseStatus(raw: RawRecipient, kind: ReportKind): { code: string; source: StatusSource } | null {
  const usable = (c: StatusCode | null): c is StatusCode => c !== null && (kind === 'delivery' ? c.cls === 2 : c.cls !== 2);
  const status = parseStatusCode(raw.status);
  const diagnostic = findStatusCodes(raw.diagnostic).filter(usable);
  if (usable(status)) {
    const best = mostSpecific(status, diagnostic)!;
    return { code: formatStatusCode(best), source: best === status ? 'status' : 'diagnostic' };
  }
  if (diagnostic.length > 0) return { code: formatStatusCode(mostSpecific(null, diagnostic)!), source: 'diagnostic' };
  const inText = findStatusCodes(raw.text).filter(usable);
  if (inText.length > 0) return { code: formatStatusCode(mostSpecific(null, inText)!), source: 'text' };
  if (kind !== 'bounce' && kind !== 'delay') return null;
  const phrase = inferFromPhrase([raw.diagnostic, raw.text].filter(Boolean).join('\n'));
  if (phrase) {
    const cls = phrase.replyClass ?? (kind === 'delay' ? 4 : 5);
    return { code: `${cls}.${phrase.detail}`, source: 'phrase' };
  }
  return null;
}
