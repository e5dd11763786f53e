import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli } from './helpers/process.js';

/** `rebond parse`, run as the built command an operator runs. */
const SAMPLES = join(ROOT, 'samples');
const jsonl = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('rebond parse', () => {
  it('prints one JSON line per recipient for a folder of samples, matching their expected results', () => {
    const r = runCli(['parse', '--format', 'jsonl', 'samples']);
    expect(r.status, r.stderr).to.equal(0);
    const lines = jsonl(r.stdout);
    const emls = readdirSync(SAMPLES).filter((f) => f.endsWith('.eml')).sort();
    for (const f of emls) {
      const want = JSON.parse(readFileSync(join(SAMPLES, f.replace(/\.eml$/, '.expected.json')), 'utf8')) as { format: string; kind: string; recipients: Array<{ recipient: string | null; status: string | null }> };
      const mine = lines.filter((l) => l['file'] === join('samples', f));
      if (want.recipients.length === 0) {
        expect(mine, f).to.have.length(1);
        expect(mine[0], f).to.include({ recipient: null, kind: want.kind, format: want.format, status: null });
      } else {
        expect(mine.map((l) => [l['recipient'], l['status']]), f).to.deep.equal(want.recipients.map((x) => [x.recipient, x.status]));
        for (const l of mine) expect(l['format'], f).to.equal(want.format);
      }
    }
    for (const l of lines) expect(l).to.include.keys('file', 'recipient', 'status', 'type', 'kind', 'action', 'description', 'statusSource', 'format');
  });

  it('reads standard input for -', () => {
    const raw = readFileSync(join(SAMPLES, 'exim-two-recipients-lf.eml'), 'utf8');
    const r = runCli(['parse', '--format', 'jsonl', '-'], {}, raw);
    expect(r.status, r.stderr).to.equal(0);
    expect(jsonl(r.stdout).map((l) => [l['file'], l['recipient'], l['status'], l['type'], l['kind'], l['statusSource']])).to.deep.equal([
      ['-', 'uma@first.example', '5.2.2', 'soft', 'bounce', 'text'],
      ['-', 'victor@second.example', '5.7.1', 'hard', 'bounce', 'text'],
    ]);
  });

  it('reads standard input as one message, even one that starts with a From_ line', () => {
    const raw = readFileSync(join(SAMPLES, 'postfix-saved-with-from-lines.eml'), 'utf8');
    const r = runCli(['parse', '--format', 'jsonl', '-'], {}, raw);
    expect(r.status, r.stderr).to.equal(0);
    expect(jsonl(r.stdout).map((l) => [l['file'], l['recipient'], l['status']])).to.deep.equal([['-', 'odile.ferrand@larkspur-mail.example', '5.1.1']]);
  });

  it('prints the whole parse of each message as JSON', () => {
    const r = runCli(['parse', '--format', 'json', join('samples', 'gmail-address-not-found.eml'), join('samples', 'arf-abuse-complaint.eml')]);
    expect(r.status, r.stderr).to.equal(0);
    const all = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(all.map((m) => [m['format'], m['kind']])).to.deep.equal([
      ['gmail', 'bounce'],
      ['arf', 'complaint'],
    ]);
    expect((all[0]!['recipients'] as Array<Record<string, unknown>>)[0]).to.include({ recipient: 'yvonne@mailhost-b.example', status: '5.1.1', description: 'Bad destination mailbox address' });
  });

  it('draws a table with the recipient, code, type and description', () => {
    const r = runCli(['parse', '--format', 'table', join('samples', 'yahoo-mailbox-disabled.eml')]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('edna.example@yahoo.com').and.contain('5.2.1').and.contain('soft').and.contain('phrase');
    expect(r.stdout).to.match(/1 message\(s\), 1 line\(s\): 1 bounce/);
  });

  it('reads every file of a folder without .eml files, and every message of an mbox file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebond-parse-'));
    try {
      const a = readFileSync(join(SAMPLES, 'qmail-remote-host-said.eml'), 'latin1').replace(/\r\n/g, '\n');
      const b = readFileSync(join(SAMPLES, 'autoreply-german-abwesenheit.eml'), 'latin1');
      writeFileSync(join(dir, '1'), a, 'latin1');
      writeFileSync(join(dir, '2'), b, 'latin1');
      const folder = jsonl(runCli(['parse', '--format', 'jsonl', dir]).stdout);
      expect(folder.map((l) => [l['file'], l['kind']])).to.deep.equal([
        [join(dir, '1'), 'bounce'],
        [join(dir, '2'), 'autoreply'],
      ]);
      const mbox = join(dir, 'mailbox.mbox');
      writeFileSync(mbox, `From MAILER-DAEMON Sat Nov 28 08:01:11 2026\n${a.replace(/^From /gm, '>From ')}\nFrom erin@corp.example Sat Nov 28 09:00:00 2026\n${b}`, 'latin1');
      const r = runCli(['parse', '--format', 'jsonl', mbox]);
      expect(r.status, r.stderr).to.equal(0);
      expect(jsonl(r.stdout).map((l) => [l['file'], l['kind'], l['recipient']])).to.deep.equal([
        [`${mbox}#1`, 'bounce', 'adam@far.example'],
        [`${mbox}#2`, 'autoreply', 'ole.schmidt@firma-h.example'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing path, still parses the others, and exits 1', () => {
    const r = runCli(['parse', '--format', 'jsonl', 'no-such-file.eml', join('samples', 'human-reply.eml')]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('no-such-file.eml: no such file or folder');
    expect(jsonl(r.stdout)).to.have.length(1);
  });
});
