import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Tokens and sessions. A request carries a configured token in `Authorization: Bearer`, or a
 * session cookie that the sign-in form set: `v1.<expiry>.<mac>`, where the MAC is an HMAC of
 * the expiry keyed with the token that signed in. Nothing is stored on the server: a session
 * ends when it expires or when its token is removed from the configuration. Every comparison
 * runs in constant time over every configured token.
 */

export const SESSION_COOKIE = 'rebond_session';

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The index of the configured token equal to `given`, or -1; compares with all of them. */
export function matchToken(given: string | null | undefined, tokens: readonly string[]): number {
  if (!given) return -1;
  const digest = sha256(given);
  let found = -1;
  tokens.forEach((token, i) => {
    if (timingSafeEqual(digest, sha256(token)) && found < 0) found = i;
  });
  return found;
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearer(header: string | undefined): string | null {
  const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header ?? '');
  return m ? m[1]! : null;
}

function mac(token: string, expires: number): string {
  return createHmac('sha256', token).update(`rebond-session-v1:${expires}`).digest('base64url');
}

/** A session value for the cookie, signed with `token`, valid until `expires` (ms). */
export function makeSession(token: string, expires: number): string {
  return `v1.${expires}.${mac(token, expires)}`;
}

/** True when the cookie value was signed with one of the tokens and has not expired. */
export function checkSession(value: string | null | undefined, tokens: readonly string[], now = Date.now()): boolean {
  const m = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!m) return false;
  const expires = Number(m[1]);
  const given = Buffer.from(m[2]!, 'ascii');
  let ok = false;
  for (const token of tokens) {
    const expected = Buffer.from(mac(token, expires), 'ascii');
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok && expires > now;
}

/** The value of one cookie in a `Cookie` header. */
export function cookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export function sessionCookie(value: string, options: { maxAgeSeconds: number; secure: boolean }): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${options.maxAgeSeconds}${options.secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
