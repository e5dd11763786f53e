/** Builds RFC 3464 delivery status notifications for tests. */

export interface DsnRecipient {
  readonly recipient: string;
  readonly action?: string;
  readonly status?: string | null;
  readonly diagnostic?: string | null;
  readonly remoteMta?: string | null;
}

export interface DsnOptions {
  readonly to: string;
  readonly recipients: readonly DsnRecipient[];
  readonly from?: string;
  readonly subject?: string;
  readonly messageId?: string;
  readonly reportingMta?: string;
  /** Header lines of the returned original (text/rfc822-headers). */
  readonly originalHeaders?: string;
  readonly eol?: '\r\n' | '\n';
  /** The Date: header (default Sat, 28 Nov 2026 08:00:00 +0000). */
  readonly date?: Date;
  /** MIME boundary (default: a new one each time). */
  readonly boundary?: string;
}

let counter = 0;

export function makeDsn(o: DsnOptions): string {
  const n = ++counter;
  const boundary = o.boundary ?? `b${n}x${Date.now().toString(36)}`;
  const groups = o.recipients.map((r) =>
    [
      `Final-Recipient: rfc822; ${r.recipient}`,
      `Original-Recipient: rfc822;${r.recipient}`,
      `Action: ${r.action ?? 'failed'}`,
      ...(r.status === null ? [] : [`Status: ${r.status ?? '5.1.1'}`]),
      ...(r.remoteMta === null ? [] : [`Remote-MTA: dns; ${r.remoteMta ?? 'mx.remote.example'}`]),
      ...(r.diagnostic === null ? [] : [`Diagnostic-Code: smtp; ${r.diagnostic ?? `550 ${r.status ?? '5.1.1'} user unknown`}`]),
    ].join('\n'),
  );
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${o.reportingMta ?? 'mta.remote.example'}>`,
    `To: ${o.to}`,
    `Subject: ${o.subject ?? 'Undelivered Mail Returned to Sender'}`,
    `Date: ${o.date ? o.date.toUTCString().replace('GMT', '+0000') : 'Sat, 28 Nov 2026 08:00:00 +0000'}`,
    `Message-ID: <${o.messageId ?? `dsn-${n}-${Math.random().toString(36).slice(2)}@mta.remote.example`}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Your message could not be delivered to one or more recipients.',
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${o.reportingMta ?? 'mta.remote.example'}`,
    'Arrival-Date: Sat, 28 Nov 2026 07:59:58 +0000',
    '',
    groups.join('\n\n'),
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    o.originalHeaders ?? `From: News <news@sender.example>\nTo: ${o.recipients[0]?.recipient ?? ''}\nSubject: Our news`,
    '',
    `--${boundary}--`,
    '',
  ];
  return lines.join('\n').replace(/\n/g, o.eol ?? '\r\n');
}
