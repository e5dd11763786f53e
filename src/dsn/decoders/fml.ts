import type { Decoder, RawRecipient } from '../types.js';
import { ADDRESS, cleanAddress, ownAddresses } from './common.js';

/**
 * fml, the mailing list manager: a refusal of a post from `LIST-admin@` with `X-MLServer:` and
 * an fml Message-ID (`.FML...`), one sentence naming the list ("You are not a member of this
 * mailing list <list@x>.", "Duplicated Message-ID in <list@x>."), then "Original mail as
 * follows:". The list is the recipient that refused the message; fml's reasons are words only.
 */
const NAMED = new RegExp(String.raw`^\S[^<\n]{0,200}<(${ADDRESS})>`);

const REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/not a member of this mailing list|not member article from|are not member|reject mail |reject spammers|spam mail from a spammer/i, '5.7.1'],
  [/security alert/i, '5.7.1'],
  [/loop condition|loop alert|loop back warning|unix from loop|header may cause mail loop|duplicated message-id/i, '5.4.6'],
];

export const fml: Decoder = {
  name: 'fml',
  decode(mail, context) {
    if (!mail.headers.has('x-mlserver') || !mail.from?.includes('-admin@') || !mail.messageId?.includes('.FML')) return null;
    const own = ownAddresses(mail, context);
    const report = mail.head.split(/^original mail as follows:/im)[0]!;
    const recipients: RawRecipient[] = [];
    for (const line of report.split('\n')) {
      if (line.length > 1000 || !line.includes('@')) continue;
      const m = NAMED.exec(line);
      const address = m ? cleanAddress(m[1]!) : null;
      if (!address || own.has(address) || recipients.some((r) => r.recipient === address) || recipients.length >= 20) continue;
      const reason = `${line.trim()}\n${mail.subject}`;
      recipients.push({ recipient: address, action: 'failed', status: REASONS.find(([re]) => re.test(reason))?.[1] ?? null, text: line.trim() });
    }
    return recipients.length > 0 ? { recipients } : null;
  },
};
