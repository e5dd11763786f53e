import type { Decoder } from '../types.js';
import { failedRecipientsHeader, fromDomain, mentions } from './common.js';

/**
 * Google Groups: a "Delivery Status Notification (Failure)" from mailer-daemon@googlemail.com
 * when a post to a group is refused ("the group you tried to contact (name) may not exist, or you
 * may not have permission to post messages to the group", then a list of possible causes). The
 * group's address is only in `X-Failed-Recipients`; the text has no code. Either cause means the
 * post will never be accepted: 5.7.1 (delivery not authorised).
 */
export const googleGroups: Decoder = {
  name: 'google-groups',
  decode(mail) {
    if (!mail.headers.has('x-failed-recipients')) return null;
    if (!fromDomain(mail, /(^|\.)(googlemail|google)\.com$/i) || !mentions(mail, 'the group you tried to contact', 'groups.google.com/support')) return null;
    const recipients = failedRecipientsHeader(mail);
    if (recipients.length === 0) return null;
    const start = mail.head.search(/we're writing to let you know|the group you tried to contact/i);
    const text = mail.head.slice(Math.max(0, start), Math.max(0, start) + 2000).split(/\n[ \t]*-{3,}[ \t]*original message/i)[0]!.trim();
    const refused = /may not have permission to post|not be open to posting|need to join the group/i.test(text);
    return { recipients: recipients.map((recipient) => ({ recipient, action: 'failed', status: refused ? '5.7.1' : null, text })) };
  },
};
