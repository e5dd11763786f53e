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

  it('never turns an auto-reply from the null sender into a 9.1.1; its recipient is the address that replied', async () => {
    const raw = 'From: erin@company.example\r\nTo: x@bounces.example.com\r\nSubject: Out of Office\r\nAuto-Submitted: auto-replied\r\n\r\nBack on Monday.\r\n';
    const r = await parseMessage(Buffer.from(raw), { mailFrom: '' });
    expect(r.kind).to.equal('autoreply');
    expect(r.recipients.map((x) => [x.recipient, x.kind, x.status, x.type])).to.deep.equal([['erin@company.example', 'autoreply', null, null]]);
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

describe('codes in prose', () => {
  const textBounce = (body: string) => Buffer.from(`From: MAILER-DAEMON@mta.example\r\nTo: x@bounces.example.com\r\nSubject: Undelivered Mail\r\nX-Failed-Recipients: gone@target.example\r\n\r\n${body}\r\n`);
  const statusOf = async (body: string) => {
    const r = (await parseMessage(textBounce(body), { mailFrom: '' })).recipients[0]!;
    return [r.status, r.statusSource];
  };

  it('reads a code from a multi-line SMTP reply, a qmail or Exchange #code, and a parenthesised one', async () => {
    expect(await statusOf('550-5.1.1 The email account that you tried to reach does not exist.')).to.deep.equal(['5.1.1', 'text']);
    expect(await statusOf('Sorry, no mailbox here by that name. (#5.1.1)')).to.deep.equal(['5.1.1', 'text']);
    expect(await statusOf('<mx.corp.example #5.2.2>')).to.deep.equal(['5.2.2', 'text']);
  });

  it('prefers the most specific code written, whatever its position', async () => {
    expect(await statusOf('<mx #5.0.0 smtp;550 5.1.1 <gone@target.example>... User unknown>')).to.deep.equal(['5.1.1', 'text']);
  });

  it('does not take an IP address, a version number or a qmail state for a code', async () => {
    expect(await statusOf('host 10.5.1.1 said: 550 sorry (state 14). Exim 4.94.2')).to.deep.equal(['5.0.0', 'text']);
  });

  it('infers a code from a phrase, its class from the SMTP reply before it', async () => {
    expect(await statusOf('Remote host said: 452 mailbox full, try later')).to.deep.equal(['4.2.2', 'phrase']);
    expect(await statusOf('Remote host said: 550 No such user here (state 14).')).to.deep.equal(['5.1.1', 'phrase']);
  });

  it('falls back to the meaning of a bare SMTP reply code, then to 9.1.1', async () => {
    expect(await statusOf('Remote host said: 553 sorry, that domain is not in my list')).to.deep.equal(['5.1.3', 'text']);
    expect(await statusOf('Something went wrong.')).to.deep.equal(['9.1.1', 'default']);
  });

  it('never counts an auto-reply or a challenge that carries bounce-like words as a bounce', async () => {
    const ooo = 'From: a@corp.example\r\nTo: x@bounces.example.com\r\nSubject: Automatic reply: Undeliverable\r\nAuto-Submitted: auto-replied\r\n\r\nI am away. 550 5.1.1\r\n';
    expect((await parseMessage(Buffer.from(ooo), { mailFrom: '' })).kind).to.equal('autoreply');
    const human = 'From: b@person.example\r\nTo: x@bounces.example.com\r\nSubject: Re: Mail delivery failed\r\n\r\nWhy did I get this? 550 5.1.1\r\n';
    expect((await parseMessage(Buffer.from(human), { mailFrom: 'b@person.example' })).kind).to.equal('unknown');
  });
});

describe('retries that ran out', () => {
  const failed = async (recipient: { status?: string | null; diagnostic?: string | null }, action = 'failed') => {
    const raw = makeDsn({ to: 'x@bounces.example.com', recipients: [{ recipient: 'kim@down.example', action, ...recipient }] });
    const r = (await parseMessage(Buffer.from(raw), { mailFrom: '' })).recipients[0]!;
    return [r.status, r.statusSource, r.type];
  };
  const textBounce = (body: string) => Buffer.from(`From: MAILER-DAEMON@mta.example\r\nTo: x@bounces.example.com\r\nSubject: Undelivered Mail\r\nX-Failed-Recipients: kim@down.example\r\n\r\n${body}\r\n`);
  const inText = async (body: string) => {
    const r = (await parseMessage(textBounce(body), { mailFrom: '' })).recipients[0]!;
    return [r.status, r.statusSource, r.type];
  };

  it("keep the class of the remote server's last reply under a generic or expiry code", async () => {
    expect(await failed({ status: '5.0.0', diagnostic: 'smtp; <421 4.4.2 Connection timed out>: retry timeout exceeded' })).to.deep.equal(['4.4.2', 'diagnostic', 'soft']);
    expect(await failed({ status: '5.4.7', diagnostic: 'smtp; 451 4.7.1 Try again later; envelope expired' })).to.deep.equal(['4.7.1', 'diagnostic', 'soft']);
    expect(await failed({ status: '5.0.0', diagnostic: 'smtp; 421 Service not available: retry timeout exceeded' })).to.deep.equal(['4.3.2', 'diagnostic', 'soft']);
    expect(await failed({ status: '4.4.7', diagnostic: 'smtp; 450 mailbox busy. Cannot send message for 5 days' }, 'delayed')).to.deep.equal(['4.2.0', 'diagnostic', null]);
  });

  it('keep the condition they name when no reply is quoted', async () => {
    expect(await inText('kim@down.example\n  host mx.down.example [203.0.113.8]: Connection refused\n  retry timeout exceeded')).to.deep.equal(['4.4.1', 'phrase', 'soft']);
    expect(await inText("<kim@down.example>:\nConnected to 203.0.113.8 but connection died.\nI'm not going to try again; this message has been in the queue too long.")).to.deep.equal(['4.4.2', 'phrase', 'soft']);
  });

  it('leave a specific code of the MTA, and an expiry with no cause written, as they are', async () => {
    expect(await failed({ status: '5.4.7', diagnostic: null })).to.deep.equal(['5.4.7', 'status', 'hard']);
    expect(await failed({ status: '5.4.7', diagnostic: 'smtp; delivery time expired' })).to.deep.equal(['5.4.7', 'status', 'hard']);
    expect(await inText('kim@down.example\n  retry timeout exceeded')).to.deep.equal(['5.4.7', 'phrase', 'hard']);
    expect(await failed({ status: '5.1.1', diagnostic: 'smtp; 451 4.3.0 try later; retry timeout exceeded' })).to.deep.equal(['5.1.1', 'status', 'hard']);
  });

  it("do not take Exim's MX records pointing to non-existent hosts for an expiry", async () => {
    const r = await inText('kim@down.example\n  all relevant MX records point to non-existent hosts');
    expect(r[2]).to.equal('hard');
    expect(await failed({ status: '5.0.0', diagnostic: 'all relevant MX records point to non-existent hosts' })).to.deep.equal(['5.1.2', 'phrase', 'hard']);
  });

  it('never let a temporary reply of an earlier attempt replace the final permanent failure', async () => {
    const transcript = '... while talking to mx1.down.example.:\n<<< 451 4.4.1 no answer, try later\n... while talking to mx2.down.example.:\n<<< 550 5.1.1 <kim@down.example>... User unknown';
    expect(await failed({ status: '5.0.0', diagnostic: 'smtp; mx1: 451 4.4.1 no answer, try later; mx2: 550 5.1.1 User unknown' })).to.deep.equal(['5.1.1', 'diagnostic', 'hard']);
    expect(await inText(`kim@down.example\n${transcript}`)).to.deep.equal(['5.1.1', 'text', 'hard']);
    expect(await inText('kim@down.example\n<<< 451 4.4.1 no answer, try later\n<<< 550 sorry, no such user')).to.deep.equal(['5.1.1', 'phrase', 'hard']);
  });
});

describe('the returned original', () => {
  it("collects its Message-ID from its headers and from the report's X-Original-Message-ID", async () => {
    const raw = makeDsn({ to: 'x@y.example', recipients: [{ recipient: 'a@x.example', status: '5.1.1' }], originalHeaders: 'From: a@b.example\nMessage-ID: <m1@sender.example>' }).replace('Reporting-MTA:', 'X-Original-Message-ID: <m2@sender.example>\r\nReporting-MTA:');
    const r = await parseMessage(Buffer.from(raw));
    expect(r.originalMessageIds).to.deep.equal(['m1@sender.example', 'm2@sender.example']);
  });

  it('reads the headers a text bounce quotes, after base64 decoding, and names the recipient from its To:', async () => {
    const body = 'Your message could not be delivered.\n\n--- Original message follows ---\n\nReturn-Path: <bounce+c1-k-s@bounces.example.com>\nMessage-ID: <m3@sender.example>\nTo: only@dest.example\nSubject: Hi\n';
    const raw = `From: MAILER-DAEMON@mta.example\r\nSubject: Returned mail\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(body).toString('base64')}\r\n`;
    const r = await parseMessage(Buffer.from(raw), { mailFrom: '' });
    expect(r.originalMessageIds).to.deep.equal(['m3@sender.example']);
    expect(r.originalHeaders.join('\n')).to.contain('Return-Path: <bounce+c1-k-s@bounces.example.com>');
    expect(r.recipients.map((x) => [x.recipient, x.status])).to.deep.equal([['only@dest.example', '9.1.1']]);
  });
});

describe('damaged or unusual structure', () => {
  it('reads a notification sent as a text attachment, and a multipart whose boundary matches nothing', async () => {
    const attached = 'From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\nContent-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename="details.txt"\n\n<hal@dest.example>: 550 5.1.1 user unknown\n--B--\n';
    const unbounded = 'From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\nContent-Type: multipart/mixed; boundary="WRONG"\n\n--B\nContent-Type: text/plain\n\n<ida@dest.example>: 552 5.2.2 mailbox full\n--B--\n';
    const a = await parseMessage(Buffer.from(attached), { mailFrom: '' });
    const b = await parseMessage(Buffer.from(unbounded), { mailFrom: '' });
    expect(a.recipients.map((r) => [r.recipient, r.status])).to.deep.equal([['hal@dest.example', '5.1.1']]);
    expect(b.recipients.map((r) => [r.recipient, r.status])).to.deep.equal([['ida@dest.example', '5.2.2']]);
  });
});

describe('delivery-status fields', () => {
  it('reads the address of a Final-Recipient written with brackets, a comment or a display name', async () => {
    for (const written of ['rfc822; <a@x.example>', 'rfc822;a@x.example (mailbox)', 'rfc822; "Ann" <a@x.example>', 'RFC822; A@X.example']) {
      const raw = makeDsn({ to: 'x@y.example', recipients: [{ recipient: 'placeholder@x.example', status: '5.1.1' }] }).replace('Final-Recipient: rfc822; placeholder@x.example', `Final-Recipient: ${written}`).replace('Original-Recipient: rfc822;placeholder@x.example\r\n', '');
      const r = await parseMessage(Buffer.from(raw));
      expect(r.recipients[0]!.recipient, written).to.equal('a@x.example');
    }
    for (const quoted of ['o"neil@x.example', '"john doe"@x.example']) {
      const raw = makeDsn({ to: 'x@y.example', recipients: [{ recipient: quoted, status: '5.1.1' }] });
      expect((await parseMessage(Buffer.from(raw))).recipients[0]!.recipient).to.equal(quoted);
    }
  });
});
