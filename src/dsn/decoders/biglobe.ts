import { ADDRESS, cleanAddress, fromDomain, textFormat, type RecipientBlock } from './common.js';

/**
 * BIGLOBE (and the ISPs it serves: inacatv, tmtv, ttv): "Returned mail:" from postmaster@, the
 * addresses alone under "----- The following addresses had delivery problems -----" and one
 * reason for them all under "----- Non-delivered information -----" ("The number of messages in
 * recipient's mailbox exceeded the local limit.", "Mail Delivery Failed... User unknown").
 */
const ALONE = new RegExp(String.raw`^[ \t]*<?(${ADDRESS})>?[ \t]*$`);

export const biglobe = textFormat({
  name: 'biglobe',
  detect: (mail) => /^returned mail:/i.test(mail.subject) && !!mail.from?.startsWith('postmaster@') && fromDomain(mail, /(^|\.)(biglobe|inacatv|tmtv|ttv)\.ne\.jp$/i),
  start: /(?<!-)-+ ?the following addresses had delivery problems[^\n]*(?:\n|$)/i,
  blocks: (text, exclude) => {
    const at = text.search(/(?<!-)-+ ?non-delivered information/i);
    const listed = at >= 0 ? text.slice(0, at) : text;
    const reason = at >= 0 ? text.slice(at, at + 2000).replace(/^[^\n]*\n/, '').trim() : '';
    const found: string[] = [];
    for (const line of listed.split('\n')) {
      const m = line.length <= 1000 ? ALONE.exec(line) : null;
      const a = m ? cleanAddress(m[1]!) : null;
      if (a && !exclude.has(a) && !found.includes(a) && found.length < 100) found.push(a);
    }
    return found.map((recipient): RecipientBlock => ({ recipient, text: reason }));
  },
});
