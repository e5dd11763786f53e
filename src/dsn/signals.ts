import type { MailView } from './mime.js';
import type { DecodeContext } from './types.js';

/**
 * Markers that tell what kind of message this is, kept as data. Bounce markers: a daemon
 * sender, a failure subject, X-Failed-Recipients, the null envelope sender. Auto-reply markers:
 * RFC 3834 and the vendor headers and subjects of out-of-office answers.
 */

const DAEMON_SENDERS = /^(mailer-daemon|mailer_daemon|mailerdaemon|mail-daemon|maildaemon|postmaster|mmdf|smtp-gateway|mail\.delivery\.system|nobody|double-bounce|bounce|bounces|mdaemon)@/i;

export const FAILURE_SUBJECTS: readonly RegExp[] = [
  /undeliver(able|ed)/i,
  /delivery status notification \((failure|delay)\)/i,
  /delivery (failure|failed|problem|notification|report|has failed|incomplete)/i,
  /mail delivery (failed|failure|system|subsystem|error)/i,
  /returned mail/i,
  /failure notice/i,
  /non[- ]?delivery/i,
  /could not (be )?(deliver|send)/i,
  /message (not delivered|rejected|blocked|delivery failed)/i,
  /^(returned|rejected|bounced?)( mail| message)?\b/i,
  /nicht zustellbar|unzustellbar|zustellung fehlgeschlagen/i,
  /non remis|[ée]chec de (la )?(remise|livraison|distribution)|message non distribu/i,
  /mancata consegna|no se pudo entregar|onbestelbaar/i,
];

export const AUTOREPLY_SUBJECTS: readonly RegExp[] = [
  /^\s*(auto(matic)?[ -]?(reply|response|answer|antwort)|autoreply|auto[ -]?respon)/i,
  /out[ -]of[ -](the[ -])?office/i,
  /^\s*(away|absent|absence|on (vacation|holiday|leave))\b/i,
  /vacation (reply|message|notice)|holiday notice/i,
  /abwesenheit|r[ée]ponse automatique|absence du bureau|risposta automatica|respuesta autom[aá]tica|afwezig|autosvar|automaattinen vastaus/i,
];

export const CHALLENGE_SUBJECTS: readonly RegExp[] = [
  /please confirm (your|that you|you are)/i,
  /(verify|confirm) (your|that you are) (human|a human|sender)/i,
  /challenge[- ]response|spam ?arrest|boxtrapper|sender verification/i,
];

const AUTOREPLY_HEADERS: ReadonlyArray<readonly [string, RegExp]> = [
  ['x-autoreply', /./],
  ['x-autorespond', /./],
  ['x-autoresponder', /./],
  ['x-vacation', /./],
  ['x-mailer', /vacation|autorespon/i],
  ['precedence', /auto[_-]?reply/i],
  ['x-ms-exchange-inbox-rules-loop', /./],
];

function header(mail: MailView, name: string): string | undefined {
  return mail.headers.get(name)?.[0];
}

export function fromDaemon(mail: MailView): boolean {
  return mail.from !== null && DAEMON_SENDERS.test(mail.from);
}

export function hasFailureSubject(mail: MailView): boolean {
  return FAILURE_SUBJECTS.some((re) => re.test(mail.subject));
}

export function isDeliveryReport(mail: MailView): boolean {
  return mail.reportType === 'delivery-status' || mail.deliveryStatus.length > 0;
}

/** A bounce by its envelope or headers (not by its content): the "is a bounce". */
export function looksLikeBounce(mail: MailView, context: DecodeContext): boolean {
  if (isDeliveryReport(mail) || fromDaemon(mail) || hasFailureSubject(mail)) return true;
  if (mail.headers.has('x-failed-recipients')) return true;
  return context.mailFrom === '' && !looksLikeAutoreply(mail) && !looksLikeChallenge(mail);
}

export function looksLikeAutoreply(mail: MailView): boolean {
  const autoSubmitted = header(mail, 'auto-submitted')?.toLowerCase() ?? '';
  if (AUTOREPLY_SUBJECTS.some((re) => re.test(mail.subject))) return true;
  if (AUTOREPLY_HEADERS.some(([name, re]) => { const v = header(mail, name); return v !== undefined && re.test(v); })) return true;
  // DSNs carry Auto-Submitted too: it marks an auto-reply only without a failure marker.
  return autoSubmitted.startsWith('auto-replied') && !fromDaemon(mail) && !hasFailureSubject(mail);
}

export function looksLikeChallenge(mail: MailView): boolean {
  return CHALLENGE_SUBJECTS.some((re) => re.test(mail.subject)) || mail.headers.has('x-boxtrapper') || mail.headers.has('x-spamarrest-noauth');
}
