/**
 * Enhanced mail system status codes (RFC 3463): `class.subject.detail`.
 * Class 2 = success, 4 = persistent transient failure, 5 = permanent failure.
 * 9.1.1 is not an RFC code: it is the seed's "bounce with no code found".
 */

export type StatusClass = 2 | 4 | 5;

export interface StatusCode {
  readonly cls: StatusClass;
  readonly subject: number;
  readonly detail: number;
}

/** The code recorded for a bounce that carries no usable status code. */
export const NO_CODE_FOUND = '9.1.1';

const EXACT = /^([245])\.(\d{1,3})\.(\d{1,3})$/;
// In prose: not preceded or followed by a digit or a dot-digit (so "10.5.1.1" or a version
// number like "5.1.10.2" is not taken for a code).
const IN_TEXT = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)/g;

/** Parses `5.1.1` (surrounding whitespace allowed). Returns null for anything else. */
export function parseStatusCode(text: string | null | undefined): StatusCode | null {
  if (!text) return null;
  const m = EXACT.exec(text.trim());
  if (!m) return null;
  return { cls: Number(m[1]) as StatusClass, subject: Number(m[2]), detail: Number(m[3]) };
}

export function formatStatusCode(code: StatusCode): string {
  return `${code.cls}.${code.subject}.${code.detail}`;
}

/** Normalises a code written with leading zeros (`5.01.001` -> `5.1.1`); null if not a code. */
export function normaliseStatusCode(text: string | null | undefined): string | null {
  const code = parseStatusCode(text);
  return code ? formatStatusCode(code) : null;
}

/** Every enhanced status code written in a piece of text, in order of appearance. */
export function findStatusCodes(text: string | null | undefined): StatusCode[] {
  if (!text) return [];
  const found: StatusCode[] = [];
  for (const m of text.matchAll(IN_TEXT)) {
    found.push({ cls: Number(m[1]) as StatusClass, subject: Number(m[2]), detail: Number(m[3]) });
  }
  return found;
}

/** `X.0.0`: the code some MTAs always write, whatever happened. */
export function isGeneric(code: StatusCode): boolean {
  return code.subject === 0 && code.detail === 0;
}

/** Ranks how much a code says: X.0.0 < X.Y.0 < X.Y.Z. */
export function specificity(code: StatusCode): number {
  if (code.subject === 0 && code.detail === 0) return 0;
  if (code.detail === 0) return 1;
  return 2;
}

/**
 * The most specific code a report carries: the `Status:` field, unless the diagnostic text
 * holds a more specific code that refines it (same class for a generic `X.0.0`; same class and
 * subject for `X.Y.0`); without a status, the first failure code of the diagnostic.
 */
export function mostSpecific(status: StatusCode | null, diagnostic: StatusCode[]): StatusCode | null {
  if (status) {
    const level = specificity(status);
    if (level === 2) return status;
    const refines = (c: StatusCode): boolean =>
      c.cls === status.cls && specificity(c) > level && (level === 0 || c.subject === status.subject);
    return diagnostic.find(refines) ?? status;
  }
  const failures = diagnostic.filter((c) => c.cls !== 2);
  return failures[0] ?? diagnostic[0] ?? null;
}
