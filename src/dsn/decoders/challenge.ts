import { looksLikeChallenge } from '../signals.js';
import type { Decoder } from '../types.js';

/**
 * Challenge/response systems (a request to confirm that the sender is a person before the
 * message is delivered): their subjects, headers and wording. An automatic answer, not a
 * bounce: recorded as `autoreply`, never counted.
 */
export const challenge: Decoder = {
  name: 'challenge',
  decode(mail) {
    return looksLikeChallenge(mail) ? { kind: 'autoreply', recipients: [] } : null;
  },
};
