import { expect } from 'chai';
import { parseMessage } from '../../src/dsn/parse.js';
import { makeDsn } from '../helpers/dsn.js';

describe('parsing', () => {
  it('reads every recipient of an RFC 3464 report with its fields', async () => {
    const raw = makeDsn({
      to: 'bounce+c1-x@bounces.example.com',
      recipients: [
        { recipient: 'a@x.example', status: '5.1.1', remoteMta: 'mx.x.example' },
        { recipient: 'b@x.example', status: '4.2.2', diagnostic: '452 4.2.2 Mailbox over quota' },
      ],
    });
    const r = await parseMessage(Buffer.from(raw), { mailFrom: '' });
    expect(r).to.include({ format: 'rfc3464', kind: 'bounce', reportingMta: 'mta.remote.example', arrivalDate: 'Sat, 28 Nov 2026 07:59:58 +0000' });
    expect(r.recipients.map((x) => [x.recipient, x.status, x.type, x.remoteMta])).to.deep.equal([
      ['a@x.example', '5.1.1', 'hard', 'mx.x.example'],
      ['b@x.example', '4.2.2', 'soft', 'mx.remote.example'],
    ]);
    expect(r.recipients[1]!.diagnostic).to.equal('452 4.2.2 Mailbox over quota');
    expect(r.originalHeaders[0]).to.match(/^From: News/);
  });

  it('reads RFC 6533 message/global-delivery-status', async () => {
    const raw = makeDsn({ to: 'x@y.example', recipients: [{ recipient: 'jörg@bücher.example', status: '5.1.1' }] }).replace('message/delivery-status', 'message/global-delivery-status');
    const r = await parseMessage(Buffer.from(raw, 'utf8'));
    expect(r.recipients[0]).to.include({ recipient: 'jörg@bücher.example', status: '5.1.1' });
  });

  it('takes the code from the diagnostic when there is no Status field', async () => {
    const raw = makeDsn({ to: 'x@y.example', recipients: [{ recipient: 'a@x.example', status: null, diagnostic: '550 5.7.1 Message rejected as spam' }] });
    const r = await parseMessage(Buffer.from(raw));
    expect(r.recipients[0]).to.include({ status: '5.7.1', statusSource: 'diagnostic', type: 'hard' });
  });

  it('reads a plain-text bounce from the null sender as a bounce, 9.1.1 without a code', async () => {
    const raw = 'From: MAILER-DAEMON@host.example\r\nTo: someone@bounces.example.com\r\nSubject: failure notice\r\n\r\nSorry, we were unable to deliver your message.\r\n';
    const r = await parseMessage(Buffer.from(raw), { mailFrom: '' });
    expect(r).to.include({ format: 'bounce-text', kind: 'bounce' });
    expect(r.recipients[0]).to.include({ status: '9.1.1', statusSource: 'default', type: 'hard' });
  });

  it('uses X-Failed-Recipients and a code written in the text', async () => {
    const raw = [
      'From: Mail Delivery System <Mailer-Daemon@exim.example>',
      'To: x@bounces.example.com',
      'Subject: Mail delivery failed: returning message to sender',
      'X-Failed-Recipients: gone@target.example',
      '',
      'This message was created automatically by mail delivery software.',
      '',
      '  gone@target.example',
      '    host mx.target.example [203.0.113.5]',
      '    SMTP error from remote mail server after RCPT TO:<gone@target.example>:',
      '    550 5.1.1 No such user',
      '',
    ].join('\r\n');
    const r = await parseMessage(Buffer.from(raw), { mailFrom: '' });
    expect(r.recipients).to.have.length(1);
    expect(r.recipients[0]).to.include({ recipient: 'gone@target.example', status: '5.1.1', statusSource: 'text', type: 'hard' });
  });

  it('never turns an auto-reply from the null sender into a 9.1.1', async () => {
    const raw = 'From: erin@company.example\r\nTo: x@bounces.example.com\r\nSubject: Out of Office\r\nAuto-Submitted: auto-replied\r\n\r\nBack on Monday.\r\n';
    const r = await parseMessage(Buffer.from(raw), { mailFrom: '' });
    expect(r.kind).to.equal('autoreply');
    expect(r.recipients).to.have.length(0);
  });

  it('never throws on junk: binary bytes, empty input, broken MIME', async () => {
    const inputs = [
      Buffer.alloc(0),
      Buffer.from([0, 1, 2, 255, 254, 0, 10, 13, 10, 0]),
      Buffer.from('Content-Type: multipart/report; boundary="x"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n'),
      Buffer.from(`Subject: ${'A'.repeat(300_000)}\r\n\r\nbody`),
      Buffer.from('Content-Type: text/plain; charset=x-unknown-charset\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!'),
    ];
    for (const raw of inputs) {
      const r = await parseMessage(raw);
      expect(r.format).to.be.a('string');
      expect(r.kind).to.be.a('string');
    }
  });
});
