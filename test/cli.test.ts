import { expect } from 'chai';
import { TEST_SECRET } from './helpers/config.js';
import { runCli } from './helpers/process.js';

const env = { REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: 'bounces.example.com' };

describe('rebond command line', () => {
  it('encodes a return path and decodes it back', () => {
    const enc = runCli(['verp', 'encode', '--campaign', 'spring-26', '--email', 'Alice@Example.org'], env);
    expect(enc.status, enc.stderr).to.equal(0);
    const address = enc.stdout.trim();
    expect(address).to.match(/^bounce\+spring-26-[a-z2-7]{13}-[a-z2-7]{13}@bounces\.example\.com$/);
    const dec = runCli(['verp', 'decode', address, '--email', 'alice@example.org', '--json'], env);
    expect(dec.status).to.equal(0);
    expect(JSON.parse(dec.stdout)).to.include({ valid: true, campaign: 'spring-26', emailMatches: true });
  });

  it('exits 1 on a forged or foreign address', () => {
    const address = runCli(['verp', 'encode', '--campaign', 'c1', '--email', 'a@example.org'], env).stdout.trim();
    const forged = runCli(['verp', 'decode', address.replace(/-[a-z2-7]{13}@/, '-aaaaaaaaaaaaa@')], env);
    expect(forged.status).to.equal(1);
    expect(forged.stdout).to.match(/reason\s+bad-signature/);
    expect(runCli(['verp', 'decode', 'someone@gmail.com'], env).status).to.equal(1);
    expect(runCli(['verp', 'decode', address, '--email', 'other@example.org'], env).status).to.equal(1);
  });

  it('refuses to start without a strong secret, with one clear line per problem', () => {
    for (const secret of ['', 'short', 'changeme-changeme-changeme-changeme-1234']) {
      const r = runCli(['verp', 'encode', '--campaign', 'c1', '--email', 'a@example.org'], { REBOND_VERP_SECRET: secret });
      expect(r.status, secret).to.equal(2);
      expect(r.stderr).to.match(/verp\.secret: (is missing|is too short|looks like a placeholder)/);
    }
    const bad = runCli(['verp', 'encode', '--campaign', 'c1', '--email', 'a@example.org'], { ...env, REBOND_SMTP_PORT: 'http', REBOND_VERP_DOMAINS: 'not a domain' });
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('smtp.port:');
    expect(bad.stderr).to.contain('verp.domains.0: must be a domain name');
  });

  it('works in explicit development mode without a secret', () => {
    const r = runCli(['--dev', 'verp', 'encode', '--campaign', 'c1', '--email', 'a@example.org'], {});
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/@bounces\.localhost$/m);
  });
});
