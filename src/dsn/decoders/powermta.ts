import { parseFieldGroups, typedAddress } from '../fields.js';
import type { MailView } from '../mime.js';
import { bounceLike, mentions, textFormat } from './common.js';
import { reasonIn, withReasons, type ReasonTable } from './reasons.js';

/**
 * PowerMTA: subject `Delivery report`, "Hello, this is the mail server on <host>." with one
 * line per recipient (`<address>  delivery failed; will not continue trying`), and an RFC 3464
 * part whose recipient groups carry `X-PowerMTA-BounceCategory`: the sender's classification of
 * the answer, which says what a `5.0.0` Status does not.
 */
const CATEGORIES: ReasonTable = [
  ['bad-mailbox', '1.1'],
  ['bad-domain', '1.2'],
  ['inactive-mailbox', '2.1'],
  ['quota-issues', '2.2'],
  ['message-expired', '4.7'],
  ['no-answer-from-host', '4.1'],
  ['bad-connection', '4.1'],
  ['routing-errors', '4.4'],
  ['spam-related', '7.1'],
  ['policy-related', '7.1'],
  ['virus-related', '7.1'],
  ['relaying-issues', '7.1'],
];

/** Each recipient's bounce category, by address. */
function categories(mail: MailView): Map<string, string> {
  let found = mail.memo.get('powermtaCategories') as Map<string, string> | undefined;
  if (!found) {
    found = new Map();
    for (const body of mail.deliveryStatus) {
      for (const group of parseFieldGroups(body)) {
        const address = typedAddress(group.get('final-recipient'));
        const category = group.get('x-powermta-bouncecategory');
        if (address && category) found.set(address, category.trim().toLowerCase());
      }
    }
    mail.memo.set('powermtaCategories', found);
  }
  return found;
}

export const powermta = withReasons(
  textFormat({
    name: 'powermta',
    detect: (mail, context) =>
      (mentions(mail, 'hello, this is the mail server on') || mail.deliveryStatus.some((d) => /^x-powermta-/im.test(d))) && bounceLike(mail, context),
    start: /hello, this is the mail server on[^\n]*(?:\n|$)/i,
  }),
  (r, mail) => (r.recipient ? reasonIn(CATEGORIES, categories(mail).get(r.recipient)) : null),
);
