import type { Decoder } from '../../src/dsn/types.js';

/**
 * ARF feedback reports (RFC 5965) for tests: a builder, and a minimal decoder that reads one
 * as a complaint about its Original-Rcpt-To, so that complaint data can go through the real
 * ingest whatever the built-in decoder chain holds.
 */

let counter = 0;

export function makeArf(o: { to: string; recipient: string; returnPath?: string; date?: Date }): string {
  const n = ++counter;
  const boundary = `arf${n}x${Date.now().toString(36)}`;
  return [
    'From: Feedback Loop <fbl@isp.example>',
    `To: ${o.to}`,
    'Subject: Complaint about message',
    `Date: ${(o.date ?? new Date('2026-11-20T10:00:00Z')).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <arf-${n}-${Math.random().toString(36).slice(2)}@isp.example>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain',
    '',
    'This is an email abuse report.',
    '',
    `--${boundary}`,
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    'User-Agent: TestFBL/1.0',
    'Version: 1',
    `Original-Rcpt-To: ${o.recipient}`,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    `Return-Path: <${o.returnPath ?? o.to}>`,
    'From: News <news@sender.example>',
    `To: ${o.recipient}`,
    'Subject: Our news',
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

export const testArf: Decoder = {
  name: 'test-arf',
  decode(mail) {
    const report = mail.feedbackReports[0];
    if (report === undefined) return null;
    const rcpt = /^original-rcpt-to:\s*(\S+)/im.exec(report)?.[1]?.toLowerCase() ?? null;
    return { kind: 'complaint', recipients: [{ recipient: rcpt, action: null }] };
  },
};
