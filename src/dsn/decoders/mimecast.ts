import { bounceLike, fromDomain, headerMatches, mentions, textFormat } from './common.js';

/**
 * Mimecast gateways: their own non-delivery reports (`The message was not delivered to:` /
 * `Reason: 550 Invalid Recipient - https://community.mimecast.com/...`) and the reports of MTAs
 * behind them that quote Mimecast's answers; marked by a mimecast.com sender, reporting MTA or
 * `X-MC-*` headers.
 */
export const mimecast = textFormat({
  name: 'mimecast',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (fromDomain(mail, /(^|\.)mimecast(-offshore)?\.(com|co\.za)$/i) || headerMatches(mail, 'x-mc-unique', /./) || headerMatches(mail, 'x-mc-ndr', /./) || mentions(mail, 'community.mimecast.com', 'mimecast.com/docs')),
});
