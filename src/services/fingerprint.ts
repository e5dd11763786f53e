import { createHash } from 'node:crypto';

const CRLF = Buffer.from('\r\n');

/**
 * The identity of a message for deduplication: SHA-256 of its bytes with line endings
 * normalised, so a remote retry (or the same report delivered to two MX hosts) is the same.
 * In a module of its own so that a parse worker thread can load it without the rest of ingest.
 */
export function fingerprint(raw: Buffer): string {
  const hash = createHash('sha256');
  let start = 0;
  for (let i = raw.indexOf(CRLF); i >= 0; i = raw.indexOf(CRLF, i + 2)) {
    hash.update(raw.subarray(start, i));
    start = i + 1;
  }
  hash.update(raw.subarray(start));
  return hash.digest('hex');
}
