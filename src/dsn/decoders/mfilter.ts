import { ADDRESS, bounceLike, cleanAddress, headerMatches, textFormat, type RecipientBlock } from './common.js';

/**
 * Digital Arts m-FILTER (`X-Mailer: m-FILTER`, subject `failure notice`): a Japanese preamble,
 * the failed addresses alone on their lines, then "-------server message" with the remote
 * server's answer and "-------SMTP command" with the command it answered, before
 * "-------original message". The answer is written once for the listed addresses.
 */
const BARE = new RegExp(String.raw`^[ \t]*<?(${ADDRESS})>?[ \t]*$`);

function section(lines: readonly string[], title: string): string[] {
  const at = lines.findIndex((l) => l.trim().toLowerCase() === title);
  if (at < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(at + 1, at + 40)) {
    if (l.startsWith('-------')) break;
    if (l.trim()) out.push(l.trim());
  }
  return out;
}

function blocks(text: string, exclude: ReadonlySet<string>): RecipientBlock[] {
  const lines = text.split(/\r\n|\r|\n/).slice(0, 500);
  const end = lines.findIndex((l) => l.startsWith('-------'));
  const reason = [...section(lines, '-------server message'), ...section(lines, '-------smtp command').map((c) => `(in reply to ${c})`)].join('\n');
  const found: string[] = [];
  for (const line of lines.slice(0, end < 0 ? lines.length : end)) {
    const m = line.length < 1000 ? BARE.exec(line) : null;
    const a = m ? cleanAddress(m[1]!) : null;
    if (a && !exclude.has(a) && !found.includes(a)) found.push(a);
  }
  return found.map((recipient) => ({ recipient, text: reason }));
}

export const mfilter = textFormat({
  name: 'mfilter',
  detect: (mail, context) => headerMatches(mail, 'x-mailer', /^m-filter\b/i) && bounceLike(mail, context),
  end: /^-------original (message|mail info)/im,
  blocks,
});
