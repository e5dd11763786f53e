import { MAILBOX_FULL } from './quota.js';

/**
 * Unambiguous phrases that name a failure when a report carries no enhanced status code, as
 * data. Each gives the subject and detail (RFC 3463); the class comes from the report (a failed
 * delivery is 5, a delay 4, or the SMTP reply code written just before the phrase).
 *
 * The first row that matches wins, so the rows go from the most to the least specific. Every
 * pattern is linear: no nested quantifiers, bounded gaps only.
 */
export type PhraseTable = ReadonlyArray<readonly [RegExp, string]>;

/**
 * An MTA gave up because retries of a temporary condition ran out: Exim ("retry timeout
 * exceeded", "all hosts ... have been failing for a long time"), OpenSMTPD ("Envelope expired"),
 * Sendmail ("Cannot send message for 5 days"), qmail ("I'm not going to try again; this message
 * has been in the queue too long"), and the like. Not Exim's "all relevant MX records point to
 * non-existent hosts": that is the domain's own answer, not an expiry.
 */
export const RETRIES_EXPIRED =
  /\bretry time(out)? (exceeded|expired)|\bhave been failing for a long time|\bafter a long failure period|\benvelope expired|\b(message|delivery) (time )?expired|\bdelivery time expired|\btoo long in (the )?queue|\bbeen in the queue too long|\bnot going to try again|\bgiving up on|\bnot delivered within \d{1,4} (days?|hours?)|\bcannot send message for \d{1,4} (days?|hours?)|\bcould not be delivered for \d{1,4} (days?|hours?)/i;

/**
 * The temporary conditions an expiry report names, when it quotes no reply of the remote
 * server: no answer (4.4.1) or a connection that was dropped or timed out (4.4.2).
 */
const CONNECTION_CONDITIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bno answer from (the )?(remote )?host|\bconnection refused|\b(could not|couldn't|unable to|failed to) connect|\bno route to host|\b(host|network) (is )?unreachable|\b(remote )?host is not responding|\bno response from (the )?(remote )?(host|server)/gi, '4.4.1'],
  [/\bconnection (timed out|dropped|reset|died|closed|lost)|\blost connection|\bclosed (the )?connection|\btimed out\b|\btimeout (while|after|on|reading|waiting)|\bconnected to [^\n]{0,200}? but (connection died|my connection was)/gi, '4.4.2'],
];

/** The condition named last in an expiry report (`4.4.1` or `4.4.2`), or null. */
export function namedCondition(text: string): string | null {
  const capped = text.length > 64 * 1024 ? text.slice(0, 64 * 1024) : text;
  let found: { at: number; code: string } | null = null;
  for (const [re, code] of CONNECTION_CONDITIONS) {
    for (const m of capped.matchAll(re)) if (!found || m.index > found.at) found = { at: m.index, code };
  }
  return found?.code ?? null;
}

export const PHRASES: PhraseTable = [
  // The mailbox is full, in every wording and language (quota.ts).
  [MAILBOX_FULL, '2.2'],
  // A mailbox that "exceeded" (its quota, unnamed): the one wording quota.ts leaves to phrases.
  [/\b(mailbox|inbox|mail ?box|mailfolder|mail folder|account|disk|storage|user)\b[^.\n]{0,40}?\b(is |was )?exceeded\b/i, '2.2'],
  // The mailbox exists but does not take mail.
  [/\b(mailbox|account|address|user|recipient)\b[^.\n]{0,30}?\b(is |has been |was )?(disabled|suspended|inactive|deactivated|locked|frozen|closed|expired|on hold|temporarily limited|restricted)\b|\binactive (user|account|mailbox|e-?mail address)/i, '2.1'],
  // The address does not exist.
  [/\b(user|recipient|mailbox|address|account|addressee|local[- ]part)( name)? (is )?(unknown|not found|not known|invalid|not valid|does not exist|doesn't exist|not exist)\b/i, '1.1'],
  [/\b(user|recipient|mailbox|address|e-?mail account|account)\b[^.\n]{0,40}?\b(does not|doesn't|did not|do not) exist|\bno such (user|mailbox|recipient|account|address|local user|person)|\bunknown (user|recipient|mailbox|account|local[- ]part|address|alias)|\bunknown or illegal alias|\bno mailbox here by that name|\bnot listed in (the )?(domino directory|public name (&|and) address book)|\bresolver\.adr\.recip(ient)?notfound|\brecipient not found|\binvalid (recipient|mailbox|address|user)\b|\bnot a valid (mailbox|recipient|user|address)|\bdoesn'?t have an? [\w.-]{1,40} account|\bdestinataire inconnu|\badresse (e-?mail )?(inconnue|invalide)|\bunbekannt(er)? (empf[aä]nger|benutzer)|\bexistiert nicht|\butente (sconosciuto|inesistente)|\busuario (desconocido|inexistente)/i, '1.1'],
  // The address moved or left.
  [/\b(has moved|no longer (valid|active|available|in use|works here|with (the|this|our) (company|organi[sz]ation)))|\buser not local/i, '1.6'],
  // The destination domain publishes a null MX (RFC 7505): it takes no mail.
  [/\bnull mx\b|\ban mx or srv record indicated no smtp service/i, '1.10'],
  // The destination domain does not exist or takes no mail.
  [/\b(host|domain)( or domain)?( name)? (not found|unknown|does not exist|doesn't exist|not exist)|\bunknown (host|domain)\b|\bno (mx|mail exchanger)\b|\bname service error|\bname or service not known|\bunrouteable mail domain|\bdomain (has no|without) (mx|mail)|\ball relevant mx records point to non-existent hosts|\ball host address lookups failed permanently|\bno such domain\b/i, '1.2'],
  // Address syntax.
  [/\b(bad|invalid|illegal|malformed) (recipient |destination |e-?mail )?address syntax|\bsyntax error in (the )?(recipient |destination )?address|\bmalformed (recipient )?address|\billegal address/i, '1.3'],
  // Size.
  [/\bmessage (is )?too (big|large)|\bmessage (size|length) exceeds|\bexceeds (the )?(maximum|size|message size) (message )?(size|limit)|\bmessage exceeds (the )?(maximum|max|size)|\bsize limit exceeded|\bmessage size limit/i, '3.4'],
  // Too many recipients.
  [/\btoo many recipients/i, '5.3'],
  // Gave up after retrying.
  [RETRIES_EXPIRED, '4.7'],
  // Routing loop.
  [/\b(mail|routing|message) loop|\btoo many hops|\bloop detected/i, '4.6'],
  // No connection to the destination.
  [/\bconnection (timed out|refused|reset)|\b(could not|couldn't|unable to|wasn't able to|was not able to) (establish an smtp connection|connect)|\bno route to host|\bhost unreachable|\bno answer from host|\b(remote )?host is not responding|\bno response from (the )?(remote )?(host|server)/i, '4.1'],
  [/\bunrouteable address|\bunable to route|\bno route (found|to)/i, '4.4'],
  // Congestion and rate limits.
  [/\btoo many (connections|messages|concurrent)|\brate limit|\bthrottl|\btry again later|\btemporarily (deferred|rejected|unavailable)|\bgreylist/i, '4.5'],
  // Refused for policy, spam or authentication.
  [/\b(blocked|blacklisted|blocklisted|listed) (by|on|at|in|for|due|because)\b|\bspam\b|\bpolicy (violation|reasons?|rejection)|\b(rejected|refused) (by|due to|because of) (local |our |the )?(policy|policies)|\b(rejected|refused|denied) (as|for) (spam|policy)|\bnot authori[sz]ed|\baccess denied|\brelay(ing)? (denied|not permitted|access denied|prohibited)|\bwe do not relay|\bsender (address )?rejected|\b(spf|dkim|dmarc)\b[^.\n]{0,40}?\b(fail|failed|failure|reject|rejected)|\bmessage (content )?(rejected|refused)|\bsecurity polic/i, '7.1'],
];

/**
 * The `subject.detail` of the first phrase found, with the SMTP reply class next to it if any:
 * the format's own wording first (`own`, a decoder's table), then the general phrases.
 */
export function inferFromPhrase(text: string, own: PhraseTable = []): { detail: string; replyClass: 4 | 5 | null } | null {
  const capped = text.length > 64 * 1024 ? text.slice(0, 64 * 1024) : text;
  for (const [re, detail] of own.length > 0 ? [...own, ...PHRASES] : PHRASES) {
    const m = re.exec(capped);
    if (!m) continue;
    const before = capped.slice(Math.max(0, m.index - 120), m.index);
    const replies = [...before.matchAll(/(?<!\d)([45])\d\d(?=[ -:])/g)];
    const last = replies[replies.length - 1];
    return { detail, replyClass: last ? (Number(last[1]) as 4 | 5) : null };
  }
  return null;
}
