import { bounceLike, headerMatches, textFormat } from './common.js';
import { reasonIn, withReasons, type ReasonTable } from './reasons.js';

/**
 * McAfee Email Gateway (Email and Web Security appliance): subject `Delivery Status`, an
 * `X-NAI-Header: Modified by McAfee ...` header, "--- The following addresses had delivery
 * problems ---" then `<address>   (reason)` per recipient, and an RFC 3464 part with a bare
 * `Status: 5.0.0` and often no diagnostic: the reason in the text says what failed.
 */
const WORDING: ReasonTable = [
  ['user not exist', '1.1'],
  ['no such user', '1.1'],
  ['unknown user', '1.1'],
  [') unknown.', '1.1'],
];

export const mcafee = withReasons(
  textFormat({
    name: 'mcafee',
    detect: (mail, context) => headerMatches(mail, 'x-nai-header', /modified by mcafee/i) && bounceLike(mail, context),
    start: /the following addresses had delivery problems[^\n]*(?:\n|$)/i,
  }),
  (r) => reasonIn(WORDING, r.diagnostic) ?? reasonIn(WORDING, r.text),
);
