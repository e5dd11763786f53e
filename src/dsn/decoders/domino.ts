import { ADDRESS, bounceLike, cleanAddress, mentions, textFormat } from './common.js';

/**
 * IBM/HCL Domino (Lotus Notes): subject `DELIVERY FAILURE: <reason>` (or `DELIVERY_FAILURE`),
 * "Your message ... was not delivered to: <addresses> because: <reason>"; the reason is shared
 * by the listed addresses, and the subject repeats it.
 */
// Starting only where a word starts: scanning every position of a long word costs 64 steps each.
const ANY_ADDRESS = new RegExp(String.raw`(?<![^\s<>()\[\]@,;:"'\\])${ADDRESS}`, 'g');

export const domino = textFormat({
  name: 'domino',
  detect: (mail, context) => (/^delivery[_ ](failure|report)\s*:/i.test(mail.subject) || (mentions(mail, 'was not delivered to:') && /was not delivered to:[\s\S]{0,2000}?because:/i.test(mail.head))) && bounceLike(mail, context),
  end: null,
  blocks: (text, exclude, mail) => {
    const m = /was not delivered to:([\s\S]{0,4000}?)because:([\s\S]{0,4000})/i.exec(text);
    const listed = m ? m[1]! : text;
    const reason = `${mail.subject.replace(/^delivery[_ ](failure|report)\s*:\s*/i, '')}\n${m ? m[2]!.split(/\n[ \t]*\n[ \t]*\n/)[0] : ''}`.trim();
    const found = new Set<string>();
    for (const a of listed.match(ANY_ADDRESS) ?? []) {
      const c = cleanAddress(a);
      if (c && !exclude.has(c)) found.add(c);
    }
    return [...found].map((recipient) => ({ recipient, text: reason }));
  },
});
