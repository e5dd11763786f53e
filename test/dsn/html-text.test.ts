import { expect } from 'chai';
import { htmlToText } from '../../src/dsn/html-text.js';
import { parseMessage } from '../../src/dsn/parse.js';

describe('HTML reports', () => {
  it('reads HTML as text: blocks and cells break lines, head and styles dropped, entities decoded', () => {
    const html = '<html><head><title>t</title><style>p{}</style></head><body><!-- c --><div>Delivery&nbsp;failed:</div><table><tr><td>ann@x.example</td><td>550&#32;5.1.1 User&amp;unknown &eacute;&#x263A;</td></tr></table><p>a<br>b</p><script>x()</script></body></html>';
    expect(htmlToText(html)).to.equal('Delivery failed:\n\nann@x.example\n550 5.1.1 User&unknown é☺\n\na\nb');
  });

  it('keeps what is not a tag, and costs linear time on hostile markup', () => {
    expect(htmlToText('a < b and <3 > 2')).to.equal('a < b and <3 > 2');
    for (const hostile of ['<a'.repeat(100_000), '<style>'.repeat(50_000), '<!--'.repeat(50_000), `<p ${'x'.repeat(200_000)}`, '&#1'.repeat(60_000)]) {
      const start = process.hrtime.bigint();
      htmlToText(hostile);
      expect(Number(process.hrtime.bigint() - start) / 1e6, hostile.slice(0, 8)).to.be.below(1000);
    }
  });

  it('reads a report whose text part is empty from its HTML part, and an HTML attachment', async () => {
    const html = '<table><tr><td>gone@y.example</td><td>550 5.1.1 no such user</td></tr></table>';
    const alt = `From: MAILER-DAEMON@a.example\r\nTo: b@bounces.example.com\r\nSubject: Undeliverable\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n \r\n--b\r\nContent-Type: text/html\r\n\r\n${html}\r\n--b--\r\n`;
    const attached = `From: MAILER-DAEMON@a.example\r\nTo: b@bounces.example.com\r\nSubject: Undeliverable\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=report.html\r\n\r\n${html}\r\n--b--\r\n`;
    for (const raw of [alt, attached]) {
      const r = await parseMessage(Buffer.from(raw), { mailFrom: '' });
      expect(r.recipients.map((x) => [x.recipient, x.status])).to.deep.equal([['gone@y.example', '5.1.1']]);
    }
  });
});
