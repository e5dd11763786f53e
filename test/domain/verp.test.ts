import { expect } from 'chai';
import { base32, campaignIdMaxLength, checkAddress, contactKey, encodeReturnPath, findTokens, type VerpSettings } from '../../src/domain/verp.js';

const settings: VerpSettings = { prefix: 'bounce', domains: ['bounces.example.com', 'b2.example.com'], secret: 'k'.repeat(10) + 'abcdefghijklmnopqrstuvwxyz0123' };

describe('VERP return paths', () => {
  it('encodes a lowercase return path of at most 64 characters in the local part', () => {
    const rp = encodeReturnPath(settings, 'spring-sale_2026', 'Alice.Smith@Example.ORG');
    const [local, domain] = rp.split('@');
    expect(domain).to.equal('bounces.example.com');
    expect(local).to.match(/^bounce\+spring-sale_2026-[a-z2-7]{13}-[a-z2-7]{13}$/);
    expect(rp).to.equal(rp.toLowerCase());
    const longest = encodeReturnPath(settings, 'c'.repeat(campaignIdMaxLength('bounce')), 'a@b.example');
    expect(longest.split('@')[0]!.length).to.equal(64);
  });

  it('decodes its own return path to the campaign and the contact key', () => {
    const rp = encodeReturnPath(settings, 'c-42', 'bob@example.org', 'b2.example.com');
    const check = checkAddress(settings, rp);
    expect(check).to.deep.equal({ ok: true, kind: 'token', campaignId: 'c-42', contactKey: contactKey('bob@example.org'), domain: 'b2.example.com' });
  });

  it('survives case folding by a remote server', () => {
    const rp = encodeReturnPath(settings, 'c1', 'bob@example.org');
    expect(checkAddress(settings, rp.toUpperCase()).ok).to.equal(true);
  });

  it('refuses another secret, a truncated or altered token, another campaign, a foreign domain', () => {
    const rp = encodeReturnPath(settings, 'c1', 'bob@example.org');
    const other = encodeReturnPath({ ...settings, secret: 'z'.repeat(40) }, 'c1', 'bob@example.org');
    expect(checkAddress(settings, other)).to.deep.equal({ ok: false, reason: 'bad-signature' });
    expect(checkAddress(settings, rp.replace(/.@/, '@'))).to.deep.equal({ ok: false, reason: 'malformed-token' });
    const sig = rp.split('@')[0]!.slice(-13);
    const key = contactKey('bob@example.org');
    expect(checkAddress(settings, `bounce+c2-${key}-${sig}@bounces.example.com`)).to.deep.equal({ ok: false, reason: 'bad-signature' });
    expect(checkAddress(settings, `bounce+c1-${contactKey('eve@example.org')}-${sig}@bounces.example.com`)).to.deep.equal({ ok: false, reason: 'bad-signature' });
    expect(checkAddress(settings, rp.replace('bounces.example.com', 'evil.example'))).to.deep.equal({ ok: false, reason: 'foreign-domain' });
    expect(checkAddress(settings, 'someone@bounces.example.com')).to.deep.equal({ ok: false, reason: 'not-verp' });
  });

  it('refuses quoted local parts, source routes and percent hacks', () => {
    const rp = encodeReturnPath(settings, 'c1', 'bob@example.org');
    for (const bad of [`"${rp.split('@')[0]}"@bounces.example.com`, `@relay.example:${rp}`, `victim%evil.example@bounces.example.com`, `${rp}@evil.example`, 'a!b@bounces.example.com']) {
      expect(checkAddress(settings, bad).ok, bad).to.equal(false);
    }
  });

  it('accepts postmaster at a bounce domain, or without a domain as RFC 5321 requires', () => {
    expect(checkAddress(settings, 'Postmaster@bounces.example.com')).to.deep.equal({ ok: true, kind: 'postmaster', domain: 'bounces.example.com' });
    expect(checkAddress(settings, 'postmaster@evil.example').ok).to.equal(false);
    expect(checkAddress(settings, 'POSTMASTER')).to.deep.equal({ ok: true, kind: 'postmaster', domain: 'bounces.example.com' });
  });

  it('accepts a token signed with a previous secret after a rotation', () => {
    const old = encodeReturnPath(settings, 'c1', 'bob@example.org');
    const rotated = { ...settings, secret: 'n'.repeat(8) + 'zyxwvutsrqponmlkjihgfedcba987654', previousSecrets: [settings.secret] };
    expect(checkAddress(rotated, old).ok).to.equal(true);
    expect(checkAddress({ ...rotated, previousSecrets: [] }, old).ok).to.equal(false);
  });

  it('refuses campaign ids that cannot go into a return path', () => {
    expect(() => encodeReturnPath(settings, 'Spring', 'a@b.example')).to.throw(/lowercase/);
    expect(() => encodeReturnPath(settings, 'a'.repeat(40), 'a@b.example')).to.throw(/at most 29/);
    expect(() => encodeReturnPath(settings, 'c1', 'not-an-address')).to.throw(/not an email/);
  });

  it('finds signed return paths written in a text, ignoring forged ones', () => {
    const good = encodeReturnPath(settings, 'c9', 'carol@example.org');
    const forged = good.replace(/-[a-z2-7]{13}@/, '-aaaaaaaaaaaaa@');
    const found = findTokens(settings, `Return-Path: <${good.toUpperCase()}>\nX-Other: ${forged}`);
    expect(found).to.have.length(1);
    expect(found[0]).to.include({ campaignId: 'c9', contactKey: contactKey('carol@example.org') });
  });

  it('uses the documented base32 alphabet (RFC 4648 test vector, lowercase)', () => {
    expect(base32(Buffer.from('foobar'), 10)).to.equal('mzxw6ytboi');
  });
});
