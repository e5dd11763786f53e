import { expect } from 'chai';
import { DEFAULT_INTRO, isExampleAddress, proseRecipients, recipientBlocks } from '../../src/dsn/text-blocks.js';

describe('addresses after a label', () => {
  it('a label word glued to the local part is part of the address', () => {
    const text = 'userx@a.example\n  550 no such user\ntom@a.example\n  550 no such user\ntony.smith@a.example\n  550 no such user\nrecipientlist@a.example\n  550\n';
    expect(recipientBlocks(text, new Set()).map((b) => b.recipient)).to.deep.equal(['userx@a.example', 'tom@a.example', 'tony.smith@a.example', 'recipientlist@a.example']);
  });

  it('a label followed by a separator is still a label', () => {
    const lines = ['Recipient: a@x.example', 'To: <b@x.example>', 'user c@x.example', 'Address:d@x.example', 'rcpt to:<e@x.example>'];
    expect(lines.map((l) => DEFAULT_INTRO.exec(l)?.[1])).to.deep.equal(['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example']);
  });

  it('in sentences too', () => {
    expect(proseRecipients('Delivery failed: user.anna@b.example (mailbox unavailable)', new Set())).to.deep.equal(['user.anna@b.example']);
    expect(proseRecipients('Could not deliver: to-do@b.example', new Set())).to.deep.equal(['to-do@b.example']);
    expect(proseRecipients('Delivery failed for user:<sam@b.example>', new Set())).to.deep.equal(['sam@b.example']);
  });
});

describe('addresses that are not recipients', () => {
  it('documentation examples and daemons', () => {
    expect(['user@example.com', 'you@yourdomain.com', 'postmaster@isp.example', 'mailer-daemon@mx.example', 'john.doe@example.org'].filter((a) => !isExampleAddress(a))).to.deep.equal([]);
    expect(['user@isp.example', 'anna@example.com', 'userx@example.com'].filter((a) => isExampleAddress(a))).to.deep.equal([]);
  });

  it('the To: of a header summary, help text and mailto: links', () => {
    const text = ['From: Reports <daemon@mx.example>', 'To: copy@isp.example', 'Subject: Undelivered', '', 'Failed:', '  real@isp.example', '  550 5.1.1 unknown', '', 'Example:', 'user@example.com', 'Help: postmaster@isp.example'].join('\n');
    expect(recipientBlocks(text, new Set()).map((b) => b.recipient)).to.deep.equal(['real@isp.example']);
    expect(proseRecipients('Could not deliver. Write to <mailto:help@isp.example> or see mailto:desk@isp.example', new Set())).to.deep.equal([]);
  });

  it('costs linear time next to hostile lines', () => {
    const long = `${' '.repeat(200_000)}>${' '.repeat(200_000)}x`;
    const start = process.hrtime.bigint();
    recipientBlocks(`${long}\nTo: a@isp.example\n${long}\nuser${'x'.repeat(900)}@isp.example\n`, new Set());
    proseRecipients(`to${' '.repeat(30_000)}user${' :'.repeat(10_000)}`, new Set());
    expect(Number(process.hrtime.bigint() - start) / 1e6).to.be.below(1000);
  });
});
