/** Control characters in output that reaches a terminal (used by output.ts and context.ts). */

// C0, DEL, C1, and the Unicode line separators and direction overrides that rearrange a line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
export const CONTROL_BUT_TAB_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
export const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Text a terminal shows and does not act on: each control character becomes a visible `\u001b`
 * (so an ESC sequence is shown as text, not run). Line feeds and tabs are kept with
 * `keepLayout` (whole lines of output, tab-separated ones among them). JSON text stays valid
 * JSON, as it holds control characters only in strings, where `\uXXXX` is the same character.
 */
export function terminalText(text: string, keepLayout = false): string {
  return text.replace(keepLayout ? CONTROL_BUT_TAB_NEWLINE : CONTROL, escapeChar);
}
