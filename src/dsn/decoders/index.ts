import type { Decoder } from '../types.js';
import { autoreply } from './autoreply.js';
import { bounceText } from './bounce-text.js';
import { rfc3464 } from './rfc3464.js';

/**
 * The decoder chain, tried in order; the first that recognises a message wins. Specific formats
 * come first, then the standard report, then auto-replies, then the generic bounce fallback.
 */
export const DECODERS: readonly Decoder[] = [rfc3464, autoreply, bounceText];
