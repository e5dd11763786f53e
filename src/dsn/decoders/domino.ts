import { ADDRESS, bounceLike, cleanAddress, mentions, textFormat, type RecipientBlock } from './common.js';
import { reasonIn, withReasons, type ReasonTable } from './reasons.js';

/**
 * IBM/HCL Domino (Lotus Notes): subject `DELIVERY FAILURE: <reason>` (or `DELIVERY_FAILURE`),
 * "Your message ... was not delivered to: <addresses> because: <reason>"; the reason is shared
 * by the listed addresses, and the subject repeats it. Older Notes servers wrote subject
 * `Undeliverable message` and "------- Failure Reasons --------" with the reason, then the
 * address alone on its line, before "------- Returned Message --------". Localised servers write
 * the reason in their language (Japanese: "Domino ディレクトリには見つかりません").
 */
// Starting only where a word starts: scanning every position of a long word costs 64 steps each.
const ANY_ADDRESS = new RegExp(String.raw`(?<![^\s<>()\[\]@,;:"'\\])${ADDRESS}`, 'g');
const BARE_ADDRESS = new RegExp(String.raw`^[ \t]*<?(${ADDRESS})>?[ \t]*$`);

/** Domino's reasons that the common phrases do not cover. */
const WORDING: ReasonTable = [
  ['ディレクトリには見つかりません', '1.1'],
  ['ディレクトリのリストにありません', '1.1'],
  ['several matches found in domino directory', '1.4'],
  ['cannot route mail to user', '2.0'],
  ['message has exceeded maximum hop count', '4.6'],
];

function dominoBlocks(text: string, exclude: ReadonlySet<string>, subject: string): RecipientBlock[] {
  const m = /was not delivered to:([\s\S]{0,4000}?)because:([\s\S]{0,4000})/i.exec(text);
  const listed = m ? m[1]! : text;
  const reason = `${subject.replace(/^delivery[_ ](failure|report)\s*:\s*/i, '')}\n${m ? m[2]!.split(/\n[ \t]*\n[ \t]*\n/)[0] : ''}`.trim();
  const found = new Set<string>();
  for (const a of listed.match(ANY_ADDRESS) ?? []) {
    const c = cleanAddress(a);
    if (c && !exclude.has(c)) found.add(c);
  }
  return [...found].map((recipient) => ({ recipient, text: reason }));
}

/** Notes: reason lines, then the address they apply to alone on its line. */
function notesBlocks(text: string, exclude: ReadonlySet<string>): RecipientBlock[] {
  const out: RecipientBlock[] = [];
  let reason: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/).slice(0, 500)) {
    const m = line.length < 1000 ? BARE_ADDRESS.exec(line) : null;
    const address = m ? cleanAddress(m[1]!) : null;
    if (address && !exclude.has(address)) {
      out.push({ recipient: address, text: reason.join('\n') });
      reason = [];
    } else if (line.trim() && !line.trimStart().startsWith('-') && reason.length < 20) reason.push(line.trim());
  }
  return out;
}

const NOTES_START = /^-{3,}[ \t]*failure reasons[ \t]*-{3,}[^\n]*$/im;

export const domino = withReasons(
  textFormat({
    name: 'domino',
    detect: (mail, context) =>
      (/^delivery[_ ](failure|report)\s*:/i.test(mail.subject) ||
        (mentions(mail, 'was not delivered to:') && /was not delivered to:[\s\S]{0,2000}?because:/i.test(mail.head)) ||
        (/^undeliverable message/i.test(mail.subject) && NOTES_START.test(mail.head))) &&
      bounceLike(mail, context),
    end: /^-{3,}[ \t]*returned message[ \t]*-{3,}/im,
    blocks: (text, exclude, mail) => {
      const notes = NOTES_START.exec(text);
      return notes ? notesBlocks(text.slice(notes.index + notes[0].length), exclude) : dominoBlocks(text, exclude, mail.subject);
    },
  }),
  (r) => reasonIn(WORDING, r.text),
  false,
);
