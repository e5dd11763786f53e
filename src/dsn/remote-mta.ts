/** The remote server that answered, as text reports name it. */

// How text reports name the server that answered: `host mx.example[192.0.2.1] said:` (Postfix),
// `host mx.example [192.0.2.1]` (Exim), `host: mx.example (192.0.2.1)` (GMX), `while talking to
// mx.example.:` (Sendmail), `Receiving server: mx.example` (Exchange), `Error transferring to
// mx.example;` (Domino), `Remote system: dns;mx.example` (Messaging Server), `192.0.2.1 does not
// like recipient.` (qmail).
const REMOTE_MTA = /\bhost:?[ \t]+([a-z0-9][a-z0-9.-]{0,250}\.[a-z]{2,63})\.?[ \t]*[[(]|\bwhile talking to ([a-z0-9][a-z0-9.-]{0,250}\.[a-z]{2,63})\.?:|\breceiving server:[ \t]*([a-z0-9][a-z0-9.-]{0,250}\.[a-z]{2,63})|\berror transferring to ([a-z0-9][a-z0-9.-]{0,250}\.[a-z]{2,63})|\bremote system:[ \t]*(?:dns;)?[ \t]*([a-z0-9][a-z0-9.-]{0,250}\.[a-z]{2,63})|^([0-9]{1,3}(?:\.[0-9]{1,3}){3}) (?:does not like recipient|failed after i sent the message)/im;

/** The remote server named in a recipient's text, if any. */
export function remoteMtaIn(text: string | null | undefined): string | null {
  if (!text) return null;
  const m = REMOTE_MTA.exec(text.slice(0, 8000));
  return m ? (m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5] ?? m[6])!.toLowerCase() : null;
}

/** The distinct remote servers a whole report names (for a transcript shared by its recipients). */
const REMOTE_MTA_ALL = new RegExp(REMOTE_MTA.source, 'gim');

export function remoteMtasIn(text: string): string[] {
  const re = REMOTE_MTA_ALL;
  const found = new Set<string>();
  for (const m of text.slice(0, 32 * 1024).matchAll(re)) {
    found.add((m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5] ?? m[6])!.toLowerCase());
    if (found.size > 5) break;
  }
  return [...found];
}
