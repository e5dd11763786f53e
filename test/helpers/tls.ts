import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A self-signed certificate made at test time with the openssl command (no key is ever
 * committed): `key.pem` and `cert.pem` in `dir`, for `name`.
 */
export interface TestCertificate {
  readonly key: string;
  readonly cert: string;
  readonly pem: string;
  /** SHA-256 fingerprint of the certificate, as node's X509Certificate writes it. */
  readonly fingerprint: string;
}

export function makeCertificate(dir: string, name: string, tag = 'a'): TestCertificate {
  const key = join(dir, `key-${tag}.pem`);
  const cert = join(dir, `cert-${tag}.pem`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`],
    { stdio: 'pipe' },
  );
  const pem = readFileSync(cert, 'utf8');
  return { key, cert, pem, fingerprint: new X509Certificate(pem).fingerprint256 };
}

/** The fingerprint of a peer certificate's raw DER bytes, comparable to `fingerprint`. */
export function fingerprintOf(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex').toUpperCase().match(/../g)!.join(':');
}
