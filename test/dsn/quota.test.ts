import { expect } from 'chai';
import { inferFromPhrase } from '../../src/dsn/phrases.js';
import { MAILBOX_FULL, mailboxFullCode } from '../../src/dsn/quota.js';

describe('mailbox full wording', () => {
  const full = [
    'Mailbox quota exceeded',
    'user is over quota',
    'The email account that you tried to reach is over quota',
    'mailbox is full',
    '552 Requested mail action aborted: exceeded storage allocation',
    'insufficient disk space for this account',
    'Mailbox size limit exceeded',
    'Quota exceeded (mailbox for user is full)',
    'the user has exceeded their quota',
    'La boîte aux lettres du destinataire est pleine',
    'la boÃ®te aux lettres du destinataire est pleine',
    'Postfach voll',
    'Das Postfach ist voll',
    'El buzón del destinatario está lleno',
    'buzon lleno',
    'casella di posta piena',
    'A caixa postal está cheia',
    'postvak vol',
    'メールボックスがいっぱいです',
    'Почтовый ящик переполнен',
  ];
  const notFull = ['User unknown', '452 4.3.1 Insufficient system storage', 'Message size exceeds fixed maximum message size', 'Recipient address rejected: Access denied', 'Mailbox unavailable'];

  it('recognises every form, in several languages', () => {
    expect(full.filter((t) => !MAILBOX_FULL.test(t))).to.deep.equal([]);
    expect(full.map((t) => inferFromPhrase(t)?.detail)).to.deep.equal(full.map(() => '2.2'));
  });

  it('leaves other failures alone', () => {
    expect(notFull.filter((t) => MAILBOX_FULL.test(t))).to.deep.equal([]);
  });

  it('overrides a generic or contradictory code, in its class, and nothing else', () => {
    expect(mailboxFullCode('5.0.0', '554 5.0.0 Postfach voll', null)).to.equal('5.2.2');
    expect(mailboxFullCode('5.1.0', null, 'mailbox is full')).to.equal('5.2.2');
    expect(mailboxFullCode('4.0.0', 'over quota', null)).to.equal('4.2.2');
    expect(mailboxFullCode('5.1.1', '550 5.1.1 Mailbox quota exceeded', null)).to.equal('5.2.2');
    // A 5.1.1 whose own diagnostic says "no such user": another paragraph does not change it.
    expect(mailboxFullCode('5.1.1', '550 5.1.1 No such user', 'someone else: mailbox full')).to.equal(null);
    expect(mailboxFullCode('5.7.1', 'rejected as spam; mailbox full', null)).to.equal(null);
    expect(mailboxFullCode('5.0.0', 'rejected', 'no reason given')).to.equal(null);
  });

  it('costs linear time on hostile text', () => {
    const hostile = `mailbox ${'is '.repeat(50_000)}${'quota '.repeat(20_000)}${'boite aux lettres est '.repeat(5000)}`;
    const start = process.hrtime.bigint();
    MAILBOX_FULL.test(hostile);
    const ordinary = 'x'.repeat(hostile.length);
    const mid = process.hrtime.bigint();
    MAILBOX_FULL.test(ordinary);
    const end = process.hrtime.bigint();
    expect(Number(mid - start)).to.be.below(Number(end - mid) * 50 + 50_000_000);
  });
});
