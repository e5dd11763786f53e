import { classifyStatus } from '../domain/classify.js';
import { NO_CODE_FOUND, formatStatusCode, isGeneric, specificity, type StatusCode } from '../domain/status-code.js';
import { enhancedCodes, leadingCode, replyCodeStatus, replyCodes } from './codes.js';
import { DECODERS } from './decoders/index.js';
import { firstAddress, readMail, type MailView, type MimeLimits } from './mime.js';
import { messageIdsIn, quotedHeaders } from './original.js';
import { inferFromPhrase, namedCondition, RETRIES_EXPIRED } from './phrases.js';
import { mailboxFullCode } from './quota.js';
import { providerOf, providerRule } from './remote-hosts.js';
import { remoteMtaIn } from './remote-mta.js';
import type { DecodeContext, Decoded, Decoder, ParsedReport, RawRecipient, RecipientReport, ReportKind, StatusSource } from './types.js';

export interface ParseOptions {
  /** Envelope sender: `''` for `<>`. */
  readonly mailFrom?: string | null;
  readonly limits?: MimeLimits;
  readonly decoders?: readonly Decoder[];
}

/** How deep reports wrapped in message/rfc822 are looked into. */
const MAX_NESTING = 2;

/** Raw message -> parsed report. Never throws: problems are collected on the result. */
export async function parseMessage(raw: Buffer, options: ParseOptions = {}): Promise<ParsedReport> {
  return parseAt(raw, options, 0);
}

async function parseAt(raw: Buffer, options: ParseOptions, depth: number): Promise<ParsedReport> {
  const decoders = options.decoders ?? DECODERS;
  const mail = await readMail(raw, options.limits);
  const report = decodeMail(mail, { mailFrom: options.mailFrom ?? null }, decoders);
  if (depth >= MAX_NESTING || !weak(report) || mail.embedded.length === 0) return report;
  // A report wrapped in a message/rfc822 part (forwarded, or wrapped by a gateway).
  for (const inner of mail.embedded.slice(0, 3)) {
    const nested = await parseAt(inner, { ...options, mailFrom: null }, depth + 1);
    if (nested.format === 'none' || weak(nested) || nested.kind === 'unknown') continue;
    return { ...nested, messageId: report.messageId, from: report.from, subject: report.subject, problems: [...report.problems, ...nested.problems, 'read from a report inside a message/rfc822 part'] };
  }
  return report;
}

/** Nothing better than "unknown" or a fallback bounce with neither recipient nor code. */
function weak(report: ParsedReport): boolean {
  if (report.format === 'none') return true;
  return report.format === 'bounce-text' && report.recipients.every((r) => r.recipient === null && r.statusSource === 'default');
}

/**
 * The envelope sender recorded in a stored message's `Return-Path:` header (`''` for `<>`), or
 * null when the message has none: the parse context for a file read from disk.
 */
export function envelopeSenderOf(raw: Buffer): string | null {
  const head = raw.subarray(0, 64 * 1024).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const m = /^return-path:[ \t]*(?:<([^>\r\n]*)>|([^\s<>]+))/im.exec(end >= 0 ? head.slice(0, end) : head);
  if (!m) return null;
  const sender = (m[1] ?? m[2] ?? '').trim().toLowerCase();
  // Some MTAs write the null sender as <MAILER-DAEMON> when they store a bounce.
  return sender === 'mailer-daemon' || sender === '<>' ? '' : sender;
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
  let raws = decoded.kind === undefined && decoded.recipients.length === 0 ? [{ recipient: null, action: 'failed' }] : decoded.recipients;
  // Text bounces quote the original inline: its headers identify the send as well as a MIME part.
  const originalHeaders = mail.originalHeaders.length > 0 ? mail.originalHeaders : quotedHeaders(mail.text);
  // A report that names nobody: the returned original was sent to one address, that is the one.
  if (raws.length === 1 && raws[0]!.recipient === null && decoded.kind === undefined) {
    const to = soleRecipientOf(originalHeaders, mail);
    if (to) raws = [{ ...raws[0]!, recipient: to }];
  }
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
    originalHeaders,
    originalMessageIds: messageIdsIn([...originalHeaders, ...mail.deliveryStatus, ...mail.feedbackReports]),
    problems,
  };
}

/** The single address of the returned original's `To:` (not the report's own addresses). */
function soleRecipientOf(originalHeaders: readonly string[], mail: MailView): string | null {
  const found = new Set<string>();
  for (const block of originalHeaders) {
    const m = /^to:[ \t]*([^\r\n]*(?:\r?\n[ \t]+[^\r\n]*)*)/im.exec(block);
    if (!m) continue;
    for (const part of m[1]!.split(',')) {
      const a = firstAddress(part);
      if (a && a !== mail.from && !(mail.headers.get('to') ?? []).some((t) => t.toLowerCase().includes(a))) found.add(a);
    }
  }
  return found.size === 1 ? [...found][0]! : null;
}

/** A report is a bounce if any recipient failed; else a delay; else a delivery notice. */
function messageKind(recipients: readonly RecipientReport[]): ReportKind {
  const kinds = new Set(recipients.map((r) => r.kind));
  for (const k of ['bounce', 'delay', 'delivery'] as const) if (kinds.has(k)) return k;
  return 'unknown';
}

export function kindOfAction(action: string | null | undefined): ReportKind | null {
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
  // A recipient group without an Action: its status class says what happened.
  const statusClass = leadingCode(raw.status)?.cls;
  const kind = kindOfAction(raw.action) ?? messageKindHint ?? (statusClass === 2 ? 'delivery' : 'bounce');
  // What the report says of this recipient, joined once for the phrase, expiry and provider rules.
  const answer = [raw.diagnostic, raw.text].filter(Boolean).join('\n');
  const chosen = withQuotaRule(withProvider(raw, kind, chooseStatus(raw, kind, answer), answer), raw, kind);
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
    diagnostic: raw.diagnostic?.trim() || compact(raw.text),
    remoteMta: raw.remoteMta ?? remoteMtaIn(raw.text),
    lastAttemptDate: raw.lastAttemptDate ?? null,
  };
}

/** A recipient's paragraph of text on one line, capped, for display as its diagnostic. */
function compact(text: string | null | undefined): string | null {
  if (!text) return null;
  const one = text.replace(/\s+/g, ' ').trim();
  if (one.length === 0) return null;
  return one.length > 500 ? `${one.slice(0, 497)}...` : one;
}

/**
 * The most specific code the report carries for this recipient:
 * 0. when the MTA gave up because retries of a temporary condition ran out (`expiredCause`), and
 *    its own code is generic, an expiry code (`X.4.7`) or absent: that condition;
 * 1. `Status:`, refined by a more specific code of the diagnostic or the recipient's text
 *    (any failure code for a generic `X.0.0`; same class and subject for `X.Y.0`) -> `status`
 *    (or where the refinement was found); a generic `X.0.0` with no such code is refined by an
 *    unambiguous phrase (Exim 4.9x writes `Status: 5.0.0` whatever happened) -> `phrase`;
 * 2. else the most specific enhanced code of the diagnostic -> `diagnostic`, then of the
 *    recipient's text -> `text`;
 * 3. else a code inferred from an unambiguous phrase -> `phrase` (class from the SMTP reply
 *    written before it, else from the kind);
 * 4. else the meaning of a bare SMTP reply code (`550`) -> `diagnostic` or `text`;
 * 5. else nothing (a bounce then gets 9.1.1, `default`).
 * Success codes do not count for failures, nor failure codes for deliveries. In a failure that
 * writes a permanent code (a transcript: `451 4.4.1` at an earlier attempt, `550 5.1.1` at the
 * last), temporary codes do not count: a permanent failure does not become soft by its history.
 */
interface Chosen {
  readonly code: string;
  readonly source: StatusSource;
  /** Read from a bare SMTP reply code (`550`), not from an enhanced code. */
  readonly fromReply?: boolean;
}

function chooseStatus(raw: RawRecipient, kind: ReportKind, answer: string): Chosen | null {
  const usable = (c: StatusCode | null | undefined): c is StatusCode => !!c && (kind === 'delivery' ? c.cls === 2 : c.cls !== 2);
  const status = leadingCode(raw.status) ?? enhancedCodes(raw.status)[0] ?? null;
  const expired = expiredCause(raw, kind, usable(status) ? status : null, answer);
  if (expired) return expired;
  let diagnostic = enhancedCodes(raw.diagnostic).filter(usable);
  let inText = enhancedCodes(raw.text).filter(usable);
  if (kind === 'bounce' && writesPermanent(raw, status, [...diagnostic, ...inText])) {
    diagnostic = diagnostic.filter((c) => c.cls !== 4);
    inText = inText.filter((c) => c.cls !== 4);
  }
  if (usable(status)) {
    const level = specificity(status);
    // A generic X.0.0 (Exim writes 5.0.0 for everything) is refined by any more specific failure
    // code; X.Y.0 by the same class and subject.
    const refines = (c: StatusCode): boolean => specificity(c) > level && (level === 0 || (c.cls === status.cls && c.subject === status.subject));
    const fromDiagnostic = best(diagnostic.filter(refines));
    if (fromDiagnostic) return { code: formatStatusCode(fromDiagnostic), source: 'diagnostic' };
    const fromText = best(inText.filter(refines));
    if (fromText) return { code: formatStatusCode(fromText), source: 'text' };
    if (level === 0 && kind !== 'delivery') {
      const phrase = inferFromPhrase(answer, raw.phrases);
      if (phrase) return { code: `${status.cls}.${phrase.detail}`, source: 'phrase' };
    }
    return { code: formatStatusCode(status), source: 'status' };
  }
  const d = best(diagnostic);
  if (d) return { code: formatStatusCode(d), source: 'diagnostic' };
  const t = best(inText);
  if (t) return { code: formatStatusCode(t), source: 'text' };
  if (kind !== 'bounce' && kind !== 'delay') return null;
  const phrase = inferFromPhrase(answer, raw.phrases);
  if (phrase) {
    const cls = phrase.replyClass ?? (kind === 'delay' ? 4 : 5);
    return { code: `${cls}.${phrase.detail}`, source: 'phrase' };
  }
  const fits = (reply: number): boolean => (kind === 'delay' ? reply >= 400 && reply < 500 : reply >= 400);
  const replyInDiagnostic = replyCodes(raw.diagnostic).find(fits);
  if (replyInDiagnostic) return { code: replyCodeStatus(replyInDiagnostic)!, source: 'diagnostic', fromReply: true };
  const replyInText = replyCodes(raw.text).find(fits);
  if (replyInText) return { code: replyCodeStatus(replyInText)!, source: 'text', fromReply: true };
  return null;
}

/** True when the report writes a permanent failure code: `Status: 5.x.x`, a `5.x.x`, a bare `5xx`. */
function writesPermanent(raw: RawRecipient, status: StatusCode | null, written: readonly StatusCode[]): boolean {
  if (status?.cls === 5 || written.some((c) => c.cls === 5)) return true;
  return [...replyCodes(raw.diagnostic), ...replyCodes(raw.text)].some((r) => r >= 500 && r < 600);
}

/**
 * A failure (or a delay) that an MTA reports only because retries of a temporary condition ran
 * out ("retry timeout exceeded", "Envelope expired", "Cannot send message for 5 days", ...),
 * with its own code generic (`5.0.0`, `4.0.0`), an expiry code (`X.4.7`) or none: its cause is
 * the temporary condition, the most specific thing the report says. That is the remote server's
 * last reply when one is quoted (its enhanced code, e.g. `421 4.4.2`, else a bare `451` read as
 * `4.3.0`), else the condition it names (`4.4.1` no answer, `4.4.2` connection dropped or timed
 * out). Without a cause written, null: the MTA's own code stands (a bare `5.4.7` stays hard).
 */
function expiredCause(raw: RawRecipient, kind: ReportKind, status: StatusCode | null, all: string): { code: string; source: StatusSource } | null {
  if (kind !== 'bounce' && kind !== 'delay') return null;
  if (status && !isGeneric(status) && !(status.subject === 4 && status.detail === 7)) return null;
  if (!RETRIES_EXPIRED.test(all.length > 64 * 1024 ? all.slice(0, 64 * 1024) : all)) return null;
  for (const [source, field] of [['diagnostic', raw.diagnostic], ['text', raw.text]] as const) {
    const temporary = enhancedCodes(field).filter((c) => c.cls === 4 && !(c.subject === 4 && c.detail === 7));
    const last = temporary[temporary.length - 1];
    if (last) return { code: formatStatusCode(last), source };
    const reply = replyCodes(field).filter((r) => r >= 400 && r < 500).pop();
    if (reply) return { code: replyCodeStatus(reply)!, source };
  }
  const named = namedCondition(all);
  return named ? { code: named, source: 'phrase' } : null;
}

/** A failure whose wording says the mailbox is full is `X.2.2`, whatever vaguer code it has. */
function withQuotaRule(chosen: { code: string; source: StatusSource } | null, raw: RawRecipient, kind: ReportKind): { code: string; source: StatusSource } | null {
  if (!chosen || (kind !== 'bounce' && kind !== 'delay')) return chosen;
  const full = mailboxFullCode(chosen.code, raw.diagnostic, raw.text);
  return full ? { code: full, source: 'phrase' } : chosen;
}

/**
 * What the provider that answered means by its answer (rules kept as data in
 * `remote-hosts.ts`), where the chosen code says less: none, one inferred from a phrase or a bare
 * reply code, a generic `X.0.0`, an `X.Y.0` of the rule's subject, or a code the rule names as
 * contradicting the provider's documented meaning. The class stays the report's -> `provider`.
 */
function withProvider(raw: RawRecipient, kind: ReportKind, chosen: Chosen | null, report: string): Chosen | null {
  if (kind !== 'bounce' && kind !== 'delay') return chosen;
  const answer = report.slice(0, 16 * 1024);
  if (!answer) return chosen;
  const provider = providerOf(raw.remoteMta, answer, raw.recipient);
  const found = provider ? providerRule(provider, answer) : null;
  if (!found) return chosen;
  const { rule, index } = found;
  const [subject, detail] = rule.detail.split('.').map(Number) as [number, number];
  const current = chosen ? leadingCode(chosen.code) : null;
  if (current && chosen!.source !== 'phrase' && !chosen!.fromReply) {
    const generic = current.subject === 0 && current.detail === 0;
    const refined = current.detail === 0 && current.subject === subject && detail !== 0;
    if (!generic && !refined && !(rule.contradicts ?? []).includes(chosen!.code)) return chosen;
  }
  // The class: the chosen code's, else the SMTP reply written before the provider's words.
  const before = [...answer.slice(Math.max(0, index - 120), index + 4).matchAll(/(?<!\d)([45])\d\d(?=[ -:])/g)];
  const cls = current?.cls ?? (before.length > 0 ? Number(before[before.length - 1]![1]) : kind === 'delay' ? 4 : 5);
  const code = `${cls}.${rule.detail}`;
  return chosen && chosen.code === code ? chosen : { code, source: 'provider' };
}

/** The most specific of several codes; the first one written among equals. */
function best(codes: readonly StatusCode[]): StatusCode | null {
  let chosen: StatusCode | null = null;
  for (const c of codes) if (!chosen || specificity(c) > specificity(chosen)) chosen = c;
  return chosen;
}
