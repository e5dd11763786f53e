import { RCPT_INTRO } from '../text-blocks.js';
import { bounceLike, headerMatches, textFormat } from './common.js';

/**
 * Trend Micro InterScan Messaging Security Suite: from `"InterScan MSS"`, subject "Mail could not
 * be delivered" (in Japanese: "メッセージを配信できません。", "メール配信に失敗しました"); a
 * transcript per recipient, `Sent <<< RCPT TO:<address>` and `Received >>> 550 5.1.1 ...` (the
 * Japanese text writes `送信 >>> RCPT TO:<address>` and `受信 <<< 550 ...`).
 */
// The English subject alone is left to the generic reading: other gateways use it too.
const SUBJECTS = new Set(['メッセージを配信できません。', 'メール配信に失敗しました']);

export const interscanMss = textFormat({
  name: 'interscan-mss',
  detect: (mail, context) => (headerMatches(mail, 'from', /^\s*"?interscan mss\b/i) || SUBJECTS.has(mail.subject.trim())) && bounceLike(mail, context),
  intro: RCPT_INTRO,
});
