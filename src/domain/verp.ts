import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * VERP return paths: `<prefix>+<campaign>-<contact key>-<signature>@<bounce domain>`.
 *
 * - campaign: the campaign id, 1+ characters of `a-z 0-9 _ -`, starting with a letter or digit;
 * - contact key: the first 13 characters of base32(SHA-256(normalised email));
 * - signature: the first 13 characters of base32(HMAC-SHA256(secret,
 *   "rebond-verp-1:" + campaign + ":" + contact key)).
 * base32 is RFC 4648's alphabet in lowercase (`a-z2-7`), without padding. Everything is lowercase,
 * so a remote server that folds case cannot break a token, and the local part never exceeds 64
 * characters (the campaign id's room is `64 - prefix length - 30`).
 */

export interface VerpSettings {
  readonly prefix: string;
  readonly domains: readonly string[];
  readonly secret: string;
  /** Secrets still accepted when verifying (after a rotation); never used to sign. */
  readonly previousSecrets?: readonly string[];
}

export interface VerpToken {
  readonly campaignId: string;
  readonly contactKey: string;
}

export type VerpCheck =
  | { readonly ok: true; readonly kind: 'token'; readonly campaignId: string; readonly contactKey: string; readonly domain: string }
  | { readonly ok: true; readonly kind: 'postmaster'; readonly domain: string }
  | { readonly ok: false; readonly reason: VerpRefusal };

export type VerpRefusal = 'syntax' | 'foreign-domain' | 'not-verp' | 'malformed-token' | 'bad-signature';

export const LOCAL_PART_MAX = 64;
const KEY_LENGTH = 13;
const SIG_LENGTH = 13;
const SIGNATURE_CONTEXT = 'rebond-verp-1:';
const CAMPAIGN_ID = /^[a-z0-9][a-z0-9_-]*$/;
const PREFIX = /^[a-z0-9][a-z0-9._-]*$/;
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const TOKEN = new RegExp(`^([a-z0-9][a-z0-9_-]*)-([a-z2-7]{${KEY_LENGTH}})-([a-z2-7]{${SIG_LENGTH}})$`);
// A plain mailbox: dot-atom local part and a domain name. No quotes, routes, `%` or `!`.
const ADDRESS = /^([a-z0-9._+=-]{1,64})@([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)$/;

/** Lowercased, trimmed address: the identity of a contact. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= 0xff;
    if (out.length >= length) return out;
  }
  if (bits > 0 && out.length < length) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** The contact part of a token: stable for an address, whatever the secret. */
export function contactKey(email: string): string {
  return base32(createHash('sha256').update(normaliseEmail(email), 'utf8').digest(), KEY_LENGTH);
}

export function campaignIdMaxLength(prefix: string): number {
  return LOCAL_PART_MAX - prefix.length - 1 - (1 + KEY_LENGTH + 1 + SIG_LENGTH);
}

/** Throws with a plain message when a campaign id cannot go into a return path. */
export function checkCampaignId(campaignId: string, prefix: string): void {
  if (!CAMPAIGN_ID.test(campaignId)) {
    throw new Error(`campaign id "${campaignId}" must be lowercase letters, digits, "_" or "-", starting with a letter or digit`);
  }
  const max = campaignIdMaxLength(prefix);
  if (campaignId.length > max) {
    throw new Error(`campaign id "${campaignId}" is ${campaignId.length} characters; with prefix "${prefix}" at most ${max} fit in a 64-character local part`);
  }
}

export function checkPrefix(prefix: string): void {
  if (!PREFIX.test(prefix) || prefix.includes('+')) throw new Error(`VERP prefix "${prefix}" must be lowercase letters, digits, ".", "_" or "-"`);
  if (campaignIdMaxLength(prefix) < 8) throw new Error(`VERP prefix "${prefix}" is too long: campaign ids would have fewer than 8 characters`);
}

function sign(secret: string, campaignId: string, key: string): string {
  const mac = createHmac('sha256', secret).update(`${SIGNATURE_CONTEXT}${campaignId}:${key}`, 'utf8').digest();
  return base32(mac, SIG_LENGTH);
}

export function makeToken(secret: string, campaignId: string, email: string): string {
  const key = contactKey(email);
  return `${campaignId}-${key}-${sign(secret, campaignId, key)}`;
}

/** The signed return path for one send. The first configured bounce domain is used by default. */
export function encodeReturnPath(settings: VerpSettings, campaignId: string, email: string, domain?: string): string {
  checkCampaignId(campaignId, settings.prefix);
  const target = (domain ?? settings.domains[0] ?? '').toLowerCase();
  if (!settings.domains.includes(target)) throw new Error(`"${target}" is not a configured bounce domain`);
  if (!normaliseEmail(email).includes('@')) throw new Error(`"${email}" is not an email address`);
  return `${settings.prefix}+${makeToken(settings.secret, campaignId, email)}@${target}`;
}

/** Reads the token part (`campaign-key-sig`) and checks its signature in constant time. */
export function verifyToken(settings: VerpSettings, token: string): VerpToken | VerpRefusal {
  const m = TOKEN.exec(token.toLowerCase());
  if (!m) return 'malformed-token';
  const [, campaignId, key, sig] = m as unknown as [string, string, string, string];
  const given = Buffer.from(sig, 'ascii');
  for (const secret of [settings.secret, ...(settings.previousSecrets ?? [])]) {
    const expected = Buffer.from(sign(secret, campaignId, key), 'ascii');
    if (expected.length === given.length && timingSafeEqual(expected, given)) return { campaignId, contactKey: key };
  }
  return 'bad-signature';
}

/** Checks a recipient address: a signed token at a bounce domain, `postmaster@` it (or bare `postmaster`), or a refusal. */
export function checkAddress(settings: VerpSettings, address: string): VerpCheck {
  // RFC 5321 4.1.1.3: the domainless `postmaster` must be accepted.
  if (address.trim().toLowerCase() === 'postmaster') return { ok: true, kind: 'postmaster', domain: settings.domains[0] ?? '' };
  const m = ADDRESS.exec(address.trim().toLowerCase());
  if (!m) return { ok: false, reason: 'syntax' };
  const [, local, domain] = m as unknown as [string, string, string];
  if (!settings.domains.includes(domain)) return { ok: false, reason: 'foreign-domain' };
  if (local === 'postmaster') return { ok: true, kind: 'postmaster', domain };
  if (!local.startsWith(`${settings.prefix}+`)) return { ok: false, reason: 'not-verp' };
  const result = verifyToken(settings, local.slice(settings.prefix.length + 1));
  if (typeof result === 'string') return { ok: false, reason: result };
  return { ok: true, kind: 'token', domain, ...result };
}

/**
 * Every signed return path written anywhere in a text (for a bounce whose envelope recipient
 * lost its token: the returned original's headers carry it too). Only valid signatures count.
 */
export function findTokens(settings: VerpSettings, text: string): Array<VerpToken & { address: string }> {
  const found = new Map<string, VerpToken & { address: string }>();
  const prefix = settings.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`${prefix}\\+([a-z0-9][a-z0-9_-]*-[a-z2-7]{${KEY_LENGTH}}-[a-z2-7]{${SIG_LENGTH}})@([a-z0-9.-]+)`, 'gi');
  for (const m of text.matchAll(pattern)) {
    const domain = m[2]!.toLowerCase().replace(/\.$/, '');
    if (!settings.domains.includes(domain)) continue;
    const result = verifyToken(settings, m[1]!);
    if (typeof result === 'string') continue;
    const address = m[0].toLowerCase();
    if (!found.has(address)) found.set(address, { ...result, address });
  }
  return [...found.values()];
}
