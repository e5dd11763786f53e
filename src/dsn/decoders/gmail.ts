import { ADDRESS, bounceLike, cleanAddress, fromDomain, mentions, type RecipientBlock, textFormat } from './common.js';

/**
 * Gmail and Google Workspace: "** Address not found **", "Your message wasn't delivered to X
 * because ...", "The response from the remote server was: 550-5.1.1 ..." (with an RFC 3464
 * part), the older "Delivery to the following recipient failed permanently:" with "Technical
 * details of permanent failure:", and the delay warnings ("Delivery incomplete", "Gmail will
 * retry for N more hours").
 */
const IN_SENTENCE = new RegExp(String.raw`(?:wasn't delivered to|was not delivered to|couldn't be delivered to|problem delivering your message to|message to|recipients? failed (?:permanently|temporarily):)(?:\s{1,20}<?|<)(${ADDRESS})>?`, 'gi');

export const gmail = textFormat({
  name: 'gmail',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (fromDomain(mail, /(^|\.)(googlemail\.com|gmail\.com|google\.com)$/i) || mentions(mail, 'google tried to deliver your message', 'gmail will retry', '** address not found **', '** message not delivered **', '** delivery incomplete **', '** message blocked **')),
  end: /^[ \t]*-+ ?(original message|forwarded message)|^[ \t]*-{5,}/im,
  // Gmail's own words when the remote server gave no answer.
  phrases: [
    [/\bdns server returned answer with no data/i, '1.2'],
    [/\bdid not accept our requests to connect/i, '4.1'],
  ],
  blocks: (text, exclude) => {
    const found: string[] = [];
    for (const m of text.matchAll(IN_SENTENCE)) {
      const a = cleanAddress(m[1]!);
      if (a && !exclude.has(a) && !found.includes(a)) found.push(a);
    }
    // Older layout: the addresses on their own lines under "Delivery to the following ...".
    const list = /delivery to the following recipients? (?:failed|has been delayed)[^\n]*\n((?:[ \t]*\n|[ \t]+[^\s@]+@\S+[ \t]*\n)+)/i.exec(text);
    if (list) for (const line of list[1]!.split('\n')) {
      const a = cleanAddress(line.trim());
      if (a && !exclude.has(a) && !found.includes(a)) found.push(a);
    }
    // Gmail writes one shared explanation: every recipient gets the whole text.
    return found.map((recipient): RecipientBlock => ({ recipient, text }));
  },
});
