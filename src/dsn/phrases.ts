/**
 * Unambiguous phrases that name a failure when a report carries no enhanced status code, as
 * data. Each gives the subject and detail; the class comes from the report (a failed delivery
 * is 5, a delay 4, or the SMTP reply code written next to the phrase).
 */
export const PHRASES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(user|recipient|mailbox|address|account)( name)? (is )?(unknown|not found|does not exist|doesn't exist|invalid|unavailable|not (exist|known))/i, '1.1'],
  [/\bno such (user|mailbox|recipient|account|address)/i, '1.1'],
  [/\bunknown (user|recipient|mailbox|account|local[- ]part)/i, '1.1'],
  [/\b(host|domain) (not found|unknown|does not exist)|\bno (mx|mail exchanger|route to host)\b|name or service not known/i, '1.2'],
  [/\b(mailbox|inbox|mail ?box|account|disk|storage) (is )?(full|over ?quota|over the quota|exceeded)|\bquota exceeded|\bover quota\b|insufficient (disk )?(space|storage)/i, '2.2'],
  [/\b(mailbox|account) (is )?(disabled|suspended|inactive|deactivated|locked|blocked)/i, '2.1'],
  [/\bmessage (is )?too (big|large)|\bmessage size exceeds|\bexceeds (the )?(maximum|size) (message )?size/i, '3.4'],
  [/\b(blocked|blacklisted|blocklisted|listed) (by|on|at|in)\b|\bspam (detected|rejected|content)|\brejected (as|for) spam|\bpolicy (violation|reasons)|\bnot authori[sz]ed|\baccess denied/i, '7.1'],
  [/\btoo many recipients/i, '5.3'],
  [/\btoo many (connections|messages)|\brate limit|\bthrottl/i, '4.5'],
  [/\b(relay(ing)? (denied|not permitted|access denied)|we do not relay)/i, '7.1'],
];

/** The `subject.detail` of the first phrase found, with the SMTP reply class next to it if any. */
export function inferFromPhrase(text: string): { detail: string; replyClass: 4 | 5 | null } | null {
  for (const [re, detail] of PHRASES) {
    const m = re.exec(text);
    if (!m) continue;
    const before = text.slice(Math.max(0, m.index - 120), m.index);
    const reply = /\b([45])\d\d[ -](?!.*\b[45]\d\d[ -])/s.exec(before);
    return { detail, replyClass: reply ? (Number(reply[1]) as 4 | 5) : null };
  }
  return null;
}
