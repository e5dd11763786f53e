import { checkAddress, contactKey, findTokens, verifyToken, type VerpSettings } from '../domain/verp.js';
import type { ParsedReport, RecipientReport } from '../dsn/types.js';

/** A contact and campaign a message is about, and the report's recipient for it. */
export interface Target {
  readonly campaignId: string;
  readonly contactKey: string;
  /**
   * How the send was found: the envelope recipient's token (`rcpt`), a token in the report's
   * Original-Envelope-Id (`envid`), in the returned original's headers (`original`, a MIME part
   * or the headers quoted in the text), anywhere in the message (`text`), or the returned
   * original's Message-ID recorded with the send (`message-id`).
   */
  readonly via: 'rcpt' | 'envid' | 'original' | 'text' | 'message-id';
  /** The report's recipient for this contact (matching address, or the only one). */
  readonly report: RecipientReport | null;
  /** The contact's address, known when a report recipient hashes to the token's key. */
  readonly email: string | null;
}

const MAX_SEARCH = 1024 * 1024;

/**
 * Who a message is about: the signed VERP tokens of the envelope recipients; when there are
 * none (postmaster@, a mangled token), a token in the report's Original-Envelope-Id (a send
 * pipeline may set ENVID to the return path or its token); then the signed return paths written
 * in the returned original's headers (MIME part or quoted text); then anywhere in the message.
 * Only tokens with a valid signature count. The Message-ID fallback needs the database: see
 * `targetsFromSends`.
 */
export function identify(settings: VerpSettings, rcptTo: readonly string[], report: ParsedReport, raw: Buffer | null): Target[] {
  const tokens = new Map<string, { campaignId: string; contactKey: string; via: Target['via'] }>();
  const add = (campaignId: string, key: string, via: Target['via']): void => {
    const id = `${campaignId}\n${key}`;
    if (!tokens.has(id)) tokens.set(id, { campaignId, contactKey: key, via });
  };
  for (const address of rcptTo) {
    const check = checkAddress(settings, address);
    if (check.ok && check.kind === 'token') add(check.campaignId, check.contactKey, 'rcpt');
  }
  if (tokens.size === 0 && report.originalEnvelopeId) {
    for (const t of envelopeIdTokens(settings, report.originalEnvelopeId)) add(t.campaignId, t.contactKey, 'envid');
  }
  if (tokens.size === 0) {
    for (const t of findTokens(settings, report.originalHeaders.join('\n'))) add(t.campaignId, t.contactKey, 'original');
  }
  if (tokens.size === 0 && raw) {
    for (const t of findTokens(settings, raw.subarray(0, MAX_SEARCH).toString('latin1'))) add(t.campaignId, t.contactKey, 'text');
  }
  return [...tokens.values()].map((t) => ({ ...t, ...pickReport(t.contactKey, report) }));
}

/**
 * Tokens in an Original-Envelope-Id: the whole return path or the bare `campaign-key-sig`, as
 * written or xtext-decoded (RFC 3461 writes `+` as `+2B`).
 */
export function envelopeIdTokens(settings: VerpSettings, envid: string): Array<{ campaignId: string; contactKey: string }> {
  const value = envid.trim().slice(0, 1000);
  const decoded = value.replace(/\+([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  for (const candidate of new Set([value, decoded])) {
    const inAddress = findTokens(settings, candidate);
    if (inAddress.length > 0) return inAddress;
    const bare = verifyToken(settings, candidate.replace(/^<|>$/g, ''));
    if (typeof bare !== 'string') return [bare];
  }
  return [];
}

/** The contact and campaign of a recorded send, found by the returned original's Message-ID. */
export function targetFromSend(send: { campaignId: string }, contact: { email: string; emailKey: string }, report: ParsedReport): Target {
  const picked = pickReport(contact.emailKey, report);
  return { campaignId: send.campaignId, contactKey: contact.emailKey, via: 'message-id', report: picked.report, email: contact.email };
}

function pickReport(key: string, report: ParsedReport): { report: RecipientReport | null; email: string | null } {
  for (const r of report.recipients) {
    for (const address of [r.recipient, r.originalRecipient]) {
      if (address && contactKey(address) === key) return { report: r, email: address };
    }
  }
  // A forwarded or rewritten address: the signed token still names the contact.
  const sameKind = report.recipients.find((r) => r.kind === report.kind);
  return { report: sameKind ?? report.recipients[0] ?? null, email: null };
}
