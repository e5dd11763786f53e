import { expect } from 'chai';
import { classifyStatus } from '../../src/domain/classify.js';
import { findStatusCodes, mostSpecific, normaliseStatusCode, parseStatusCode } from '../../src/domain/status-code.js';
import { STATUS_TABLE } from '../../src/domain/status-table.js';

describe('status codes', () => {
  it('parses and normalises enhanced codes, and refuses anything else', () => {
    expect(normaliseStatusCode(' 5.01.001 ')).to.equal('5.1.1');
    expect(normaliseStatusCode('4.2.2')).to.equal('4.2.2');
    for (const bad of ['550', '5.1', '6.1.1', '5.1.1.1', 'x5.1.1', '', null]) expect(parseStatusCode(bad), String(bad)).to.equal(null);
  });

  it('finds codes in prose but not inside IP addresses or version numbers', () => {
    const found = findStatusCodes('550-5.1.1 The email account does not exist (10.5.1.1) v2.4.6.1 #5.7.1 ok');
    expect(found.map((c) => `${c.cls}.${c.subject}.${c.detail}`)).to.deep.equal(['5.1.1', '5.7.1']);
  });

  it('prefers a diagnostic code that refines a generic status of the same class', () => {
    const s = (t: string) => parseStatusCode(t);
    const pick = (status: string | null, diag: string) => {
      const c = mostSpecific(status ? s(status) : null, findStatusCodes(diag));
      return c ? `${c.cls}.${c.subject}.${c.detail}` : null;
    };
    expect(pick('5.0.0', '550 5.1.1 user unknown')).to.equal('5.1.1');
    expect(pick('5.0.0', '452 4.2.2 over quota')).to.equal('5.0.0');
    expect(pick('5.1.0', '550 5.1.1 user unknown')).to.equal('5.1.1');
    expect(pick('5.1.0', '550 5.7.1 blocked')).to.equal('5.1.0');
    expect(pick('5.2.2', '550 5.1.1 user unknown')).to.equal('5.2.2');
    expect(pick(null, 'smtp; 550 5.7.1 rejected')).to.equal('5.7.1');
    expect(pick(null, 'smtp; 550 rejected')).to.equal(null);
  });
});

describe('classification with the seed table', () => {
  it('holds every code of the seed with its type', () => {
    expect(STATUS_TABLE.size).to.equal(50);
    const soft = [...STATUS_TABLE.values()].filter((e) => e.type === 'soft').map((e) => e.code);
    expect(soft).to.deep.equal(['4.2.2', '5.2.0', '5.2.1', '5.2.2', '5.3.1', '5.4.5', '5.5.3']);
    expect(STATUS_TABLE.get('5.1.1')!.fr).to.equal('Mauvaise adresse de destinaire');
  });

  it('classifies table codes exactly, including the soft 5.x.x ones', () => {
    expect(classifyStatus('5.1.1')).to.include({ code: '5.1.1', type: 'hard', description: 'Bad destination mailbox address', match: 'exact' });
    expect(classifyStatus('5.2.2')).to.include({ type: 'soft', description: 'Mailbox full' });
    expect(classifyStatus('5.4.5')).to.include({ type: 'soft' });
    expect(classifyStatus('4.2.2')).to.include({ type: 'soft', description: 'Mailbox over quota' });
  });

  it("falls back to the subject's X.Y.0 entry, then to the class", () => {
    expect(classifyStatus('5.1.10')).to.include({ code: '5.1.10', type: 'hard', description: 'Other address status', match: 'subject' });
    expect(classifyStatus('5.2.9')).to.include({ type: 'soft', match: 'subject' });
    expect(classifyStatus('5.7.26')).to.include({ type: 'hard', match: 'subject' });
    expect(classifyStatus('4.4.7')).to.include({ type: 'soft', description: 'Delivery time expired', match: 'class' });
    expect(classifyStatus('4.0.0')).to.include({ type: 'soft', description: 'Temporary failure', match: 'class' });
    expect(classifyStatus('5.9.9')).to.include({ type: 'hard', description: 'Permanent failure', match: 'class' });
  });

  it('records a missing, unreadable or success code as 9.1.1, hard', () => {
    for (const c of [null, '', 'garbage', '2.0.0']) {
      expect(classifyStatus(c), String(c)).to.include({ code: '9.1.1', type: 'hard' });
    }
    expect(classifyStatus(null).descriptionFr).to.match(/^Rebond dur avec aucun code/);
  });
});
