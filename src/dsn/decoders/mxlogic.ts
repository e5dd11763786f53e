import { bounceLike, headerMatches, textFormat } from './common.js';

/**
 * MX Logic (McAfee SaaS email protection): Exim's wording ("This message was created
 * automatically by mail delivery software", `<address>: 550 5.1.1 ...`), marked by `X-MX-Bounce`,
 * `X-MXL-Hash` or `X-MXL-NoteHash`; the original's header follows "Included is a copy of the
 * message header:".
 */
export const mxlogic = textFormat({
  name: 'mxlogic',
  detect: (mail, context) => (headerMatches(mail, 'x-mx-bounce', /./) || headerMatches(mail, 'x-mxl-hash', /./) || headerMatches(mail, 'x-mxl-notehash', /./)) && bounceLike(mail, context),
  start: /(following address(es|\(es\))? (failed|deferred)|address(es|\(es\))? (failed|deferred):|to one or more of\s+its\s+recipients[^\n]*\n)/i,
  end: /^[ \t]*(included is a copy of the message header|-{3,})/im,
});
