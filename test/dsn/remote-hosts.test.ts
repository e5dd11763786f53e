import { expect } from 'chai';
import { parseMessage } from '../../src/dsn/parse.js';
import { PROVIDER_RULES, PROVIDERS, providerOf, providerRule } from '../../src/dsn/remote-hosts.js';
import { makeDsn } from '../helpers/dsn.js';

/** A host of each provider, for the examples' Remote-MTA. */
const HOST: Record<keyof typeof PROVIDERS, string> = {
  apple: 'mx01.mail.icloud.com',
  cox: 'cxr.mx.a.cox.net',
  orange: 'smtp-in.orange.fr',
  godaddy: 'p3plibsmtp01-11.prod.phx3.secureserver.net',
  google: 'gmail-smtp-in.l.google.com',
  iua: 'mx.email.ua',
  kddi: 'lsean.ezweb.ne.jp',
  microsoft: 'hotmail-com.olc.protection.outlook.com',
  mimecast: 'us-smtp-inbound-1.mimecast.com',
  docomo: 'mfsmax.docomo.ne.jp',
  spectrum: 'mx03.mail.charter.net',
  tencent: 'mx3.qq.com',
  yahoo: 'mta7.am0.yahoodns.net',
};

describe('remote-host rules', () => {
  for (const [i, rule] of PROVIDER_RULES.entries()) {
    it(`${rule.provider} #${i} (${rule.reason}) reads its own example`, () => {
      expect(providerRule(rule.provider, rule.example)?.rule, rule.example).to.equal(rule);
      expect(rule.detail).to.match(/^[1-7]\.\d{1,3}$/);
    });
  }

  it('recognises a provider by its host, by a marker of its answers, then by the recipient domain', () => {
    expect(providerOf('mx01.mail.icloud.com', '550 x', 'a@example.org')).to.equal('apple');
    expect(providerOf(null, 'host alt1.gmail-smtp-in.l.google.com[192.0.2.1] said: 550 x', null)).to.equal('google');
    expect(providerOf('mx.example.net', '552 5.1.1 Recipient overquota. OFR_417 [417]', null)).to.equal('orange');
    expect(providerOf(null, '550 no', 'someone@wanadoo.fr')).to.equal('orange');
    expect(providerOf('mx.example.net', '550 5.1.1 unknown', 'someone@example.org')).to.equal(null);
    // A host is matched on a label boundary only.
    expect(providerOf('mx.notcox.net', '550 x', null)).to.equal(null);
  });

  it('replaces a generic, a phrase or a bare reply code, never a specific one unless it contradicts', async () => {
    const statusOf = async (status: string | null, diagnostic: string, host: string): Promise<[string | null, string | null]> => {
      const raw = makeDsn({ to: 'x@bounces.example', recipients: [{ recipient: 'a@example.org', status, diagnostic, remoteMta: host }] });
      const r = (await parseMessage(Buffer.from(raw), { mailFrom: '' })).recipients[0]!;
      return [r.status, r.statusSource];
    };
    // Generic 5.0.0 and a bare 554: the provider's meaning.
    expect(await statusOf('5.0.0', '554 mx01.mail.icloud.com ESMTP not accepting connections', HOST.apple)).to.deep.equal(['5.7.1', 'provider']);
    expect(await statusOf(null, '554 mx01.mail.icloud.com ESMTP not accepting connections', HOST.apple)).to.deep.equal(['5.7.1', 'provider']);
    // X.Y.0 refined in its subject.
    expect(await statusOf('4.7.0', '421-4.7.0 TLS required for RCPT domain, closing connection. - gsmtp', HOST.google)).to.deep.equal(['4.7.10', 'provider']);
    // A specific code stays, unless the rule names it as contradicting the provider's meaning.
    expect(await statusOf('5.7.1', '550 5.7.1 Service unavailable OFR_999 [999]', HOST.orange)).to.deep.equal(['5.7.1', 'status']);
    expect(await statusOf('5.1.1', '552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]', HOST.orange)).to.deep.equal(['5.2.2', 'provider']);
    expect(await statusOf('5.1.1', '550 5.1.1 <a@example.org>: Recipient address rejected', 'mx.example.net')).to.deep.equal(['5.1.1', 'status']);
    // The same words from another host mean nothing particular.
    expect(await statusOf('5.0.0', '554 mx.example.net ESMTP not accepting connections', 'mx.example.net')).to.deep.equal(['5.0.0', 'status']);
  });

  it('runs every example through the parse, from its provider host', async () => {
    for (const rule of PROVIDER_RULES) {
      const raw = makeDsn({ to: 'x@bounces.example', recipients: [{ recipient: 'a@example.org', status: null, diagnostic: rule.example, remoteMta: HOST[rule.provider] }] });
      const r = (await parseMessage(Buffer.from(raw), { mailFrom: '' })).recipients[0]!;
      // The example's own specific code stays, unless the rule contradicts it.
      const own = /(?<![\d.])[45]\.([1-7])\.(\d{1,3})(?![\d.])/.exec(rule.example);
      const refines = own && own[2] === '0' && own[1] === rule.detail.split('.')[0];
      if (own && !refines && !(rule.contradicts ?? []).includes(own[0])) expect(r.status, rule.example).to.equal(own[0]);
      else expect(r.status!.slice(2), rule.example).to.equal(rule.detail);
    }
  });

  it('reads a hostile answer in time proportional to an ordinary one (linear patterns)', () => {
    // The first half of every example, repeated: each pattern's beginnings everywhere.
    const pieces = PROVIDER_RULES.map((r) => r.example.slice(0, Math.ceil(r.example.length / 2))).join(' ');
    const hostile = pieces.repeat(Math.ceil((16 * 1024) / pieces.length)).slice(0, 16 * 1024);
    const ordinary = 'The mail server answered with an error about this recipient. '.repeat(300).slice(0, 16 * 1024);
    const cost = (text: string): number => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < 5; i++) for (const rule of PROVIDER_RULES) rule.pattern.exec(text);
      return Number(process.hrtime.bigint() - t);
    };
    cost(ordinary);
    cost(hostile);
    expect(cost(hostile) / cost(ordinary)).to.be.below(20);
  });
});
