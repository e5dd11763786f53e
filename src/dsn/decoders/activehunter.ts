import { ADDRESS, bounceLike, textFormat } from './common.js';

/**
 * TransWARE Active!hunter: `X-AHMailID`, subject "FAILURE NOTICE :", Sendmail-like wording
 * ("----- The following addresses had permanent fatal errors -----") but each address written
 * `>>> address <address>`, and the remote answer under "----- Transcript of session follows
 * -----" (`550 sorry, no mailbox here by that name (#5.1.1 - chkusr)`).
 */
export const activehunter = textFormat({
  name: 'activehunter',
  // The header may mark other mail through the gateway too: the report must be a bounce.
  detect: (mail, context) => mail.headers.has('x-ahmailid') && bounceLike(mail, context),
  start: /(?<!-)-+ ?the following addresses had permanent fatal errors[^\n]*(?:\n|$)/i,
  intro: new RegExp(String.raw`^>{3}[ \t][^<\n]{0,200}<(${ADDRESS})>`),
});
