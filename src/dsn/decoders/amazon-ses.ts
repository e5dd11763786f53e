import { bounceLike, fromDomain, headerMatches, mentions, textFormat } from './common.js';

/**
 * Amazon SES: reports from MAILER-DAEMON@amazonses.com ("An error occurred while trying to
 * deliver the mail to the following recipients:") with an RFC 3464 part whose Reporting-MTA is
 * an amazonses.com host; X-SES-Outgoing marks them too.
 */
export const amazonSes = textFormat({
  name: 'amazon-ses',
  detect: (mail, context) =>
    bounceLike(mail, context) && (fromDomain(mail, /(^|\.)amazonses\.com$/i) || headerMatches(mail, 'x-ses-outgoing', /./) || mentions(mail, 'an error occurred while trying to deliver the mail to the following recipients')),
  start: /following recipients:?[^\n]*(?:\n|$)/i,
});
