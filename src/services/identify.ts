import { checkAddress, contactKey, findTokens, type VerpSettings } from '../domain/verp.js';
import type { ParsedReport, RecipientReport } from '../dsn/types.js';

/** A contact and campaign a message is about, and the report's recipient for it. */
export interface Target {
  readonly campaignId: string;
  readonly contactKey: string;
  /** Where the signed token was found. */
  readonly via: 'rcpt' | 'original' | 'text';
  /** The report's recipient for this contact (matching address, or the only one). */
  readonly report: RecipientReport | null;
  /** The contact's address, known when a report recipient hashes to the token's key. */
  readonly email: string | null;
}

const MAX_SEARCH = 1024 * 1024;

/**
 * Who a message is about: the signed VERP tokens of the envelope recipients; when there are
 * none (postmaster@, a mangled token), the signed return paths written in the returned
 * original's headers; then anywhere in the message. Only tokens with a valid signature count.
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
  if (tokens.size === 0) {
    for (const t of findTokens(settings, report.originalHeaders.join('\n'))) add(t.campaignId, t.contactKey, 'original');
  }
  if (tokens.size === 0 && raw) {
    for (const t of findTokens(settings, raw.subarray(0, MAX_SEARCH).toString('latin1'))) add(t.campaignId, t.contactKey, 'text');
  }
  return [...tokens.values()].map((t) => ({ ...t, ...pickReport(t.contactKey, report) }));
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
