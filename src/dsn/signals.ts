import type { MailView } from './mime.js';
import { ORIGINAL_FOLLOWS, section } from './text-blocks.js';
import type { DecodeContext } from './types.js';

/**
 * Markers that tell what kind of message this is, kept as data. Bounce markers: a daemon
 * sender, a failure subject, X-Failed-Recipients, the null envelope sender. Auto-reply markers:
 * RFC 3834 and the vendor headers and subjects of out-of-office answers.
 */

const DAEMON_SENDERS = /^(mailer-daemon|mailer_daemon|mailerdaemon|mail-daemon|maildaemon|postmaster|mmdf|smtp-gateway|mail\.delivery\.system|mail-delivery-system|nobody|double-bounce|bounce|bounces|mdaemon|mailer|mail-router|smtp|mailadmin|ndr|noreply-ndr|microsoftexchange[0-9a-f]*|daemon|root|postoffice)@/i;

// A reply or a forward quotes the subject it answers: "Re: Undeliverable" is a person writing,
// "Automatic reply: Undeliverable" an auto-reply.
const REPLY_PREFIX = /^\s*(re|fw|fwd|aw|wg|tr|sv|vs|r|rif|antw|odp|ynt)\s*(?:\[\d+\]\s*)?:/i;
const AUTOREPLY_PREFIX = /^\s*(auto(matic|matische)?[ -]?(reply|response|answer|antwort)|autoreply|out of (the )?office|abwesenheit\w*|r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica|automatisch antwoord|autosvar|自動返信|自动回复)\s*:/i;

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
  /^warning: (could not send|message .* delayed)/i,
  /delivery (status notification|delayed|delay)|delayed mail|delivery (has been )?delayed|mail delivery warning|still being retried/i,
  /^(delivery_failure|delivery failure|permanent delivery failure)\b/i,
  /^notice: mail delivery status/i,
  /^(failed|undelivered) mail\b|^mail (could not be delivered|not delivered|failure|failed)|^message you sent (could not|was not)/i,
  /nicht zustellbar|unzustellbar|zustellung fehlgeschlagen/i,
  /non remis|[ée]chec de (la )?(remise|livraison|distribution)|message non distribu/i,
  /mancata consegna|no se pudo entregar|onbestelbaar/i,
];

/** Subjects and text of a warning that delivery is delayed and still being tried. */
export const DELAY_SUBJECTS: readonly RegExp[] = [
  /\(delay\)|delivery (has been )?delayed|delayed mail|delivery delay|still being retried|^warning: (could not send|message .* delayed)|mail delivery warning|delivery status notification: warning|^delayed\b|zustellung verz[öo]gert|remise diff[ée]r[ée]e/i,
];
const DELAY_TEXT = /this is (a warning message only|just a warning)|you do not need to resend your message|(has not yet been|hasn't been|not yet been) delivered|(has|have) not been delivered yet|still (trying|being retried)|will (keep )?(retry|try)(ing)? (for|until|again)|gmail will retry|will continue (attempting|trying)|(delivery|further) attempts will continue|\bwill (be )?retr(y|ied)\b|(will|shall) (try|attempt) (to deliver|delivery) (again|later)|delivery incomplete|temporary problem delivering|no need to (take action|resend)|delayed? (for|more than) \d+ (hours?|minutes?|days?)/i;

/** A warning that delivery is still being tried (subject or wording), not a failure. */
export const textSaysDelay = memo('textSaysDelay', (mail: MailView): boolean => {
  if (DELAY_SUBJECTS.some((re) => re.test(mail.subject))) return true;
  return DELAY_TEXT.test(mail.text.slice(0, 4000)) && !/permanent(ly)? (error|fail)|has been given up|I've given up|given up on|giving up|gave up|failed permanently|could not be delivered to one or more|will not be retried|no further (delivery )?attempts|undeliverable/i.test(mail.text.slice(0, 4000));
});

export const AUTOREPLY_SUBJECTS: readonly RegExp[] = [
  /^\s*(auto(matic)?[ -]?(reply|response|answer|antwort)|autoreply|auto[ -]?respon)/i,
  /out[ -]of[ -](the[ -])?office/i,
  /^\s*(away|absent|absence|on (vacation|holiday|leave))\b/i,
  /vacation (reply|message|notice)|holiday notice/i,
  /abwesenheit|automatische antwort|r[ée]ponse automatique|absence du bureau|absent du bureau|risposta automatica|fuori ufficio|respuesta autom[aá]tica|fuera de la oficina|resposta autom[aá]tica|afwezig|automatisch antwoord|autosvar|automaattinen vastaus|automatyczna odpowied|otomatik yan[ıi]t|自動返信|自动回复|不在/i,
  /^\s*(thank you for (your|contacting)|we have received your|we('ve| have) received your|your (request|ticket|message) (has been|was) received|ticket (received|created|#))/i,
  /^\s*(read|delivered|read receipt|return receipt|displayed|gelesen|lu|letto)\s*:/i,
];

export const CHALLENGE_SUBJECTS: readonly RegExp[] = [
  /please confirm (your|that you|you are)/i,
  /(verify|confirm) (your|that you are) (human|a human|sender|e-?mail|message|address)/i,
  /challenge[- ]response|spam ?arrest|boxtrapper|sender verification|verification (required|needed|request)|awaiting (your )?(verification|confirmation)|message (is )?(held|pending|on hold)/i,
];
const CHALLENGE_TEXT = /challenge[- ]response|spam ?arrest|boxtrapper|mailvalidator|(verify|confirm) (that )?you are (a )?(real )?(person|human|sender)|to (have|get) your (message|e-?mail) delivered,? (please )?(click|reply|visit)|click (on )?the (following )?link (below )?to (verify|confirm|release|deliver)|only accepts? (mail|e-?mail|messages) from (approved|verified|known) senders|add you to (my|the) (list of )?(approved|allowed|verified) senders|\b(white ?list|allow ?list|approved senders?|safe senders?)( list)? (confirmation|request|verification)|\badd (yourself|your address) to (my|the|our) (white ?list|allow ?list|approved senders)|\bconfirm (that )?you (sent|are the sender of) (this|the|your) (message|e-?mail)|\byour (message|e-?mail) (is|has been|was|will be) (held|quarantined|kept) (until|pending|awaiting)/i;

/** Out-of-office wording, for auto-replies that carry no header or subject marker. */
const AUTOREPLY_TEXT = /\b(out of (the )?office|away from (the|my) (office|desk|e-?mail)|on (annual |parental |sick |maternity )?leave\b|limited access to (my )?e-?mail|i am (currently )?(away|out|travell?ing|on (vacation|holiday))|i('m| am) (currently )?(away|out of)|will (be )?(back|returning) (on|in|after)|(je suis|je serai) absente?|ich bin (bis|vom|ab|derzeit|zurzeit) [^.\n]{0,40}(nicht|abwesend|im urlaub)|estar[ée] fuera|sar[òo] fuori|ik ben (afwezig|met vakantie))/i;

/** Wording that only a report about a failed delivery uses. */
const FAILURE_TEXT = /undeliver|(could|can)( ?no|')t be delivered|was not delivered|not (been )?delivered|delivery (to|of|has|failed|failure|status|problem)|\bfail(ed|ure)\b|\brejected\b|\bbounced?\b|returned (mail|message|to sender)|user unknown|no such (user|mailbox|recipient)|does not exist|mailbox|recipient|permanent(ly)? (error|fail)|\b(550|551|552|553|554)\b|\b5\.\d\.\d/i;

const AUTOREPLY_HEADERS: ReadonlyArray<readonly [string, RegExp]> = [
  ['x-autoreply', /./],
  ['x-autorespond', /./],
  ['x-autoresponder', /./],
  ['x-vacation', /./],
  ['x-mailer', /vacation|autorespon/i],
  ['precedence', /auto[_-]?reply/i],
  ['x-ms-exchange-inbox-rules-loop', /./],
  ['x-auto-reply', /./],
  ['x-autoreply-from', /./],
  ['x-mail-autoreply', /./],
  ['x-autogenerated', /reply/i],
  ['x-autorespond-type', /./],
];

/**
 * Every decoder of the chain asks the same questions of one message: the answers are computed
 * once per message (and envelope sender).
 */
function memo<A extends unknown[]>(name: string, fn: (mail: MailView, ...args: A) => boolean, key: (...args: A) => string = () => ''): (mail: MailView, ...args: A) => boolean {
  return (mail, ...args) => {
    const k = `${name}:${key(...args)}`;
    let answer = mail.memo.get(k) as boolean | undefined;
    if (answer === undefined) mail.memo.set(k, (answer = fn(mail, ...args)));
    return answer;
  };
}

function header(mail: MailView, name: string): string | undefined {
  return mail.headers.get(name)?.[0];
}

export function fromDaemon(mail: MailView): boolean {
  return mail.from !== null && DAEMON_SENDERS.test(mail.from);
}

export function hasFailureSubject(mail: MailView): boolean {
  return !REPLY_PREFIX.test(mail.subject) && !AUTOREPLY_PREFIX.test(mail.subject) && FAILURE_SUBJECTS.some((re) => re.test(mail.subject));
}

/** A reply or a forward written by a person (its subject starts with `Re:`, `Fwd:`...). */
export function isReplySubject(mail: MailView): boolean {
  return REPLY_PREFIX.test(mail.subject);
}

export function isDeliveryReport(mail: MailView): boolean {
  return mail.reportType === 'delivery-status' || mail.deliveryStatus.length > 0;
}

/** A bounce by its envelope or headers (not by its content): the issue's "is a bounce". */
export const looksLikeBounce = memo('looksLikeBounce', (mail: MailView, context: DecodeContext): boolean => {
  if (isDeliveryReport(mail)) return true;
  // A challenge sent as a failure report (daemon sender, "Undeliverable" subject) is not one.
  if (looksLikeChallenge(mail)) return false;
  if (fromDaemon(mail) || hasFailureSubject(mail)) return true;
  if (mail.headers.has('x-failed-recipients')) return true;
  // The null sender alone: only when the text speaks of a failed delivery, and not of an absence.
  if (context.mailFrom !== '' || looksLikeAutoreply(mail) || looksLikeChallenge(mail)) return false;
  return FAILURE_TEXT.test(mail.text.slice(0, 8000));
}, (context) => context.mailFrom ?? '<unknown>');

export const looksLikeAutoreply = memo('looksLikeAutoreply', (mail: MailView): boolean => {
  const autoSubmitted = header(mail, 'auto-submitted')?.toLowerCase().trim() ?? '';
  // A bounce is never an auto-reply, whatever the returned subject says ("Undeliverable: Out of
  // office supplies"); DSNs carry Auto-Submitted too.
  if (fromDaemon(mail) || hasFailureSubject(mail) || isDeliveryReport(mail) || mail.headers.has('x-failed-recipients')) return false;
  if (AUTOREPLY_SUBJECTS.some((re) => re.test(mail.subject))) return true;
  if (AUTOREPLY_HEADERS.some(([name, re]) => { const v = header(mail, name); return v !== undefined && re.test(v); })) return true;
  return (autoSubmitted !== '' && autoSubmitted !== 'no') || AUTOREPLY_TEXT.test(mail.text.slice(0, 2000));
});

export const looksLikeChallenge = memo('looksLikeChallenge', (mail: MailView): boolean => {
  if (['x-boxtrapper', 'x-spamarrest-noauth', 'x-challenge', 'x-challenge-response', 'x-mailvalidator'].some((h) => mail.headers.has(h))) return true;
  if (isDeliveryReport(mail)) return false;
  // Dressed as a failure report (daemon sender, failure subject): a challenge only when the
  // report's own text asks for the confirmation; a bounce quoting a message that asks to click a
  // link (a double opt-in) is still a bounce.
  if (fromDaemon(mail) || hasFailureSubject(mail) || mail.headers.has('x-failed-recipients')) return CHALLENGE_TEXT.test(section(mail.text.slice(0, 8000), null, ORIGINAL_FOLLOWS));
  return CHALLENGE_SUBJECTS.some((re) => re.test(mail.subject)) || CHALLENGE_TEXT.test(mail.text.slice(0, 8000));
});
