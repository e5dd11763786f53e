import { fromDomain, textFormat } from './common.js';

/**
 * BIGLOBE (and the ISPs it serves: inacatv, tmtv, ttv): "Returned mail:" from postmaster@, the
 * address alone under "----- The following addresses had delivery problems -----" and the
 * reason under "----- Non-delivered information -----" ("The number of messages in recipient's
 * mailbox exceeded the local limit.", "Mail Delivery Failed... User unknown").
 */
export const biglobe = textFormat({
  name: 'biglobe',
  detect: (mail) => /^returned mail:/i.test(mail.subject) && !!mail.from?.startsWith('postmaster@') && fromDomain(mail, /(^|\.)(biglobe|inacatv|tmtv|ttv)\.ne\.jp$/i),
  start: /-+ ?the following addresses had delivery problems[^\n]*\n/i,
});
