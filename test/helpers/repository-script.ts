import { contactKey } from '../../src/domain/verp.js';
import type { Repositories } from '../../src/storage/repositories.js';

/**
 * Every repository call the ingest transaction makes, with values of each kind (null, boolean,
 * bytes, hostile text), for comparing two implementations of the repositories row for row.
 */

export const AT = '2026-12-04T10:00:00.000Z';
const LATER = '2026-12-04T11:00:00.000Z';

/** Runs the calls; returns what they answered. */
export async function repositoryScript(repos: Repositories, options: { nul?: boolean } = {}): Promise<unknown[]> {
  // PostgreSQL text cannot hold a NUL at all; SQLite can.
  const nul = options.nul === false ? '' : '\u0000';
  const seen: unknown[] = [];
  await repos.campaigns.ensureAll([
    { id: 'c2', at: LATER },
    { id: 'c1', at: AT },
    { id: 'c2', at: AT },
  ]);
  await repos.campaigns.ensure('c3', AT);
  await repos.contacts.lockKeys([contactKey('a@example.org')]);
  const a = await repos.contacts.ensure('a@example.org', contactKey('a@example.org'), AT);
  // Refers to a contact and a campaign this transaction has just created.
  await repos.sends.record({ campaignId: 'c3', contactId: a.id, sentAt: AT, messageId: '<first@sender.example>' });
  seen.push(a, await repos.contacts.ensure('a@example.org', contactKey('a@example.org'), LATER));
  const m1 = await repos.messages.insertIfNew({
    fingerprint: 'f1',
    receivedAt: AT,
    transport: 'smtp',
    mailFrom: '',
    rcptTo: ['bounce+c1-x@bounces.example'],
    remoteAddress: '127.0.0.1',
    helo: 'mx.example',
    size: 5,
    raw: Buffer.from([0, 1, 2, 255, 10]),
    kind: 'bounce',
    format: 'rfc3464',
    status: 'processed',
    problems: ['one', 'two'],
    headerMessageId: '<m1@example>',
    campaignId: 'c1',
    contactKey: contactKey('a@example.org'),
  });
  // Plain ASCII bytes (most reports) with quotes, a backslash and line breaks.
  const ascii = Buffer.from("From: <mailer-daemon@mx.example>\r\nSubject: it's 'quoted' \\ \r\n\r\n'); DROP TABLE messages; --\r\n", 'latin1');
  const m3 = await repos.messages.insertIfNew({ fingerprint: 'f3', receivedAt: AT, transport: 'smtp', mailFrom: '', rcptTo: [], remoteAddress: null, helo: null, size: ascii.length, raw: ascii, kind: 'bounce', format: 'rfc3464', status: 'processed', problems: [], headerMessageId: null, campaignId: null, contactKey: null });
  await repos.messages.expect(['f2', 'f1', 'f2']);
  const m2 = await repos.messages.insertIfNew({ fingerprint: 'f2', receivedAt: LATER, transport: 'import', mailFrom: null, rcptTo: [], remoteAddress: null, helo: null, size: 0, raw: Buffer.alloc(0), kind: 'unknown', format: 'none', status: 'processed', problems: [], headerMessageId: null, campaignId: null, contactKey: null });
  await repos.messages.setStatus(m2!, 'unparseable');
  // After m2: a refused insert may use up an id on one path and not the other (gaps are harmless).
  const again = await repos.messages.insertIfNew({ fingerprint: 'f1', receivedAt: LATER, transport: 'import', mailFrom: null, rcptTo: [], remoteAddress: null, helo: null, size: 1, raw: null, kind: 'unknown', format: 'none', status: 'unparseable', problems: [], headerMessageId: null, campaignId: null, contactKey: null });
  seen.push(m1, m2, m3, again, await repos.messages.recordDuplicate('f1', LATER), await repos.messages.recordDuplicate('nope', LATER));
  await repos.messages.setStatus(m1!, 'unattributed');
  const b1 = await repos.bounces.insert({ messageId: m1!, campaignId: 'c1', contactId: a.id, recipient: 'a@example.org', kind: 'bounce', action: 'failed', statusCode: '5.1.1', statusSource: 'status', type: 'hard', description: "it's a \\ 'quoted'\r\n'); DROP TABLE contacts; --", diagnostic: `smtp; 550 5.1.1 ${nul} nul, é, 😀, \ud800 lone`, remoteMta: 'mx.example', reportingMta: 'mta.example', counted: true, receivedAt: AT });
  const b2 = await repos.bounces.insert({ messageId: m1!, campaignId: null, contactId: null, recipient: null, kind: 'delay', action: null, statusCode: null, statusSource: null, type: null, description: null, diagnostic: null, remoteMta: null, reportingMta: null, counted: false, receivedAt: AT });
  seen.push(b1, b2);
  await repos.contacts.update(a.id, { state: 'bounced', softCampaigns: ['c1', 'c2'], complained: true, bouncedAt: AT, bouncedReason: 'hard_bounce', bounceId: b1, updatedAt: LATER });
  await repos.suppressions.add(a.id, a.email, 'hard_bounce', b1, AT);
  await repos.suppressions.add(a.id, a.email, 'hard_bounce', b2, LATER);
  await repos.suppressions.add(a.id, a.email, 'complaint', null, AT);
  seen.push(await repos.suppressions.remove(a.id, ['complaint', 'soft_bounces']));
  await repos.events.insert({ contactId: a.id, at: AT, event: 'bounced', fromState: 'active', toState: 'bounced', actor: 'rebond', detail: 'hard bounce 5.1.1', bounceId: b1 });
  await repos.sends.record({ campaignId: 'c1', contactId: a.id, sentAt: AT, messageId: '<Out-1@Sender.example>' });
  await repos.sends.record({ campaignId: 'c1', contactId: a.id, sentAt: LATER, messageId: null });
  seen.push(await repos.sends.findByMessageId('out-1@sender.example'), await repos.sends.findByMessageId('<none@x>'));
  seen.push(await repos.contacts.lockByKey(contactKey('a@example.org')), await repos.contacts.lockByEmail('a@example.org'), await repos.contacts.findById(a.id), await repos.contacts.findById(999));
  return seen;
}

