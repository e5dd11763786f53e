import { expect } from 'chai';
import { parseMessage } from '../../src/dsn/parse.js';

/**
 * A format's markers repeated over a whole message (256 KiB, no line break, or 1000-character
 * lines of near-addresses) cost no more than a few times an ordinary message of the same size
 * and format: every pattern a decoder runs on the text is linear.
 */
const SIZE = 256 * 1024;

function message(subject: string, extra: string, body: string): Buffer {
  return Buffer.from(`From: MAILER-DAEMON@mx.example\r\nTo: bounce@shop.example\r\nSubject: ${subject}\r\n${extra}MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body}`);
}

function fill(piece: string, sep = ''): string {
  return (piece + sep).repeat(Math.ceil(SIZE / (piece.length + sep.length))).slice(0, SIZE);
}

const PROSE = fill('The quick brown fox jumps over the lazy dog near the river bank.', '\r\n');

/** `marker`: what the ordinary message opens with; `repeat`: the piece repeated (default: the marker) after `prefix`. */
const FORMATS: Array<{ name: string; subject: string; extra?: string; marker: string; prefix?: string; repeat?: string; lines?: string }> = [
  { name: 'sendgrid', subject: 'Undelivered Mail Returned to Sender', marker: 'This is an automatically generated message from SendGrid.', lines: `${'a:'.repeat(400)}<x@y` },
  { name: 'powermta', subject: 'Delivery report', marker: 'Hello, this is the mail server on mta.example.', lines: `  <a@b.c${' '.repeat(900)}` },
  { name: 'messagelabs', subject: 'Mail Delivery Failure', extra: 'X-Msg-Ref: server-1.tower-1.messagelabs.com!1!2!1\r\n', marker: 'Delivery to the following recipients failed.' },
  { name: 'mcafee', subject: 'Delivery Status', extra: 'X-NAI-Header: Modified by McAfee Email and Web Security Virtual Appliance\r\n', marker: '--- The following addresses had delivery problems ---' },
  { name: 'verizon', subject: 'Undeliverable Message', marker: 'Error: 550 - no such user here', lines: `To:${' '.repeat(150)}${'x'.repeat(60)}@${'a.'.repeat(300)}` },
  { name: 'mailmarshal', subject: 'Undeliverable Mail: "x"', marker: 'The following recipients were affected:', lines: `    ${'a'.repeat(60)}@${'b-'.repeat(300)}` },
  { name: 'technical-details', subject: 'Delivery status notification: error', marker: 'This is an automatically generated Delivery Status Notification.\r\nTechnical details:\r\nDelivery to the following recipients failed permanently:', prefix: 'This is an automatically generated Delivery Status Notification.\r\nTechnical details:\r\n', repeat: 'Delivery to the following recipients failed permanently:' },
  { name: 'qmail-clone', subject: 'failure notice', marker: 'This is the mail delivery agent at mx.example.', lines: 'does not like recipient. '.repeat(40) },
  { name: 'mfilter', subject: 'failure notice', extra: 'X-Mailer: m-FILTER\r\n', marker: '-------server message', lines: `${'a'.repeat(60)}@${'b.'.repeat(400)}` },
  { name: 'trouble-delivering', subject: 'There was an error sending your mail', marker: 'We had trouble delivering your message. Full details follow:', lines: `SMTP Server <${'m'.repeat(250)}> rejected recipient <${'a'.repeat(60)}@${'b.'.repeat(300)}` },
  { name: 'opensmtpd', subject: 'Delivery status notification: error', marker: 'This is the MAILER-DAEMON, please DO NOT REPLY to this email.\r\nAn error has occurred while attempting to deliver a message for the following list of recipients:', prefix: 'This is the MAILER-DAEMON, please DO NOT REPLY to this email.\r\n', repeat: 'the following recipients:' },
  { name: 'amazon-ses', subject: 'Delivery Status Notification (Failure)', marker: 'An error occurred while trying to deliver the mail to the following recipients:' },
  { name: 'exchange2003', subject: 'Undeliverable: x', marker: 'Your message did not reach some or all of the intended recipients.\r\nThe following recipient(s) could not be reached:', prefix: 'Your message did not reach some or all of the intended recipients.\r\n', repeat: 'The following recipient(s) could not be reached:' },
  { name: 'exim', subject: 'Mail delivery failed: returning message to sender', marker: 'This message was created automatically by mail delivery software.\r\nA message that you sent could not be delivered to one or more of its recipients.', prefix: 'This message was created automatically by mail delivery software.\r\n', repeat: 'could not be delivered to one or more of its recipients.' },
  { name: 'mdaemon', subject: 'Permanent Delivery Failure', marker: 'The attached message had PERMANENT fatal delivery errors!\r\n--- Session Transcript ---', prefix: 'The attached message had PERMANENT fatal delivery errors!\r\n', repeat: '--- Session Transcript ---' },
  { name: 'yahoo', subject: 'Failure Notice', marker: 'Sorry, we were unable to deliver your message to the following address.' },
  { name: 'zoho', subject: 'Undelivered Mail Returned to Sender', extra: 'X-ZohoMail: Si\r\n', marker: 'This message could not be delivered to one or more of its recipients.' },
  { name: 'messaging-server', subject: 'Delivery Notification: Delivery has failed', marker: 'This report relates to a message you sent with the following header fields:', repeat: 'has been delayed ' },
  { name: 'domino', subject: 'Undeliverable message', marker: '------- Failure Reasons --------', lines: `  ${'a'.repeat(60)}@${'b.'.repeat(400)} ` },
];

async function cost(raw: Buffer): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await parseMessage(raw, { mailFrom: '' });
    runs.push(performance.now() - t);
  }
  return runs.sort((a, b) => a - b)[1]!;
}

describe('decoder markers in hostile text', function () {
  this.timeout(120_000);

  for (const f of FORMATS) {
    it(`${f.name}: a message of repeated markers costs no more than a few times an ordinary one`, async () => {
      const from = f.name === 'verizon' ? 'post_master@vtext.com' : null;
      const make = (body: string): Buffer => {
        const raw = message(f.subject, f.extra ?? '', body);
        return from ? Buffer.from(raw.toString('latin1').replace('MAILER-DAEMON@mx.example', from), 'latin1') : raw;
      };
      const ordinary = make(`${f.marker}\r\n\r\n${PROSE}`);
      expect((await parseMessage(ordinary, { mailFrom: '' })).format).to.equal(f.name);
      const base = Math.max(await cost(ordinary), 5);
      for (const body of [`${f.prefix ?? ''}${fill(f.repeat ?? f.marker)}`, ...(f.lines ? [`${f.marker}\r\n${fill(f.lines, '\r\n')}`] : [])]) {
        const hostile = make(body);
        expect(await cost(hostile), `${f.name}: ${body.slice(0, 40)}...`).to.be.below(base * 8);
      }
    });
  }
});
