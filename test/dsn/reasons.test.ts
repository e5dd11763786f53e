import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { reasonIn, refine } from '../../src/dsn/decoders/reasons.js';
import { parseMessage } from '../../src/dsn/parse.js';

/**
 * A format's own wording gives a Status only where the report has none better: a missing or
 * generic X.0.0 Status, and no specific code in the recipient's diagnostic or text.
 */
describe('format wording tables', () => {
  const table = [
    ['bad-mailbox', '1.1'],
    ['no such user', '1.1'],
  ] as const;

  it('finds the first row whose wording appears, whatever the case', () => {
    expect(reasonIn(table, '550 No Such User here')).to.equal('1.1');
    expect(reasonIn(table, 'mailbox full')).to.equal(null);
    expect(reasonIn(table, null)).to.equal(null);
  });

  it('gives a generic or missing Status the code of the wording, in its class', () => {
    expect(refine({ recipient: 'a@x.example', action: 'failed', status: '5.0.0' }, '1.1').status).to.equal('5.1.1');
    expect(refine({ recipient: 'a@x.example', action: 'failed', status: '4.0.0' }, '2.2').status).to.equal('4.2.2');
    expect(refine({ recipient: 'a@x.example', action: 'failed', text: '452 mailbox busy' }, '2.2').status).to.equal('4.2.2');
    expect(refine({ recipient: 'a@x.example', action: 'delayed' }, '4.7').status).to.equal('4.4.7');
    expect(refine({ recipient: 'a@x.example', action: 'failed' }, '1.1').status).to.equal('5.1.1');
  });

  it('never replaces a specific Status, nor one that a specific code of the recipient refines', () => {
    expect(refine({ recipient: 'a@x.example', action: 'failed', status: '5.2.2' }, '1.1').status).to.equal('5.2.2');
    expect(refine({ recipient: 'a@x.example', action: 'failed', status: '5.0.0', diagnostic: '552 5.2.2 full' }, '1.1').status).to.equal('5.0.0');
    expect(refine({ recipient: 'a@x.example', action: 'failed', text: '550 5.7.1 blocked' }, '1.1').status).to.equal(undefined);
  });

  it('falls back on the common phrases when asked and the table has nothing', () => {
    expect(refine({ recipient: 'a@x.example', action: 'failed', status: '5.0.0', diagnostic: '550 Unknown user a@x.example' }, null, true).status).to.equal('5.1.1');
    expect(refine({ recipient: 'a@x.example', action: 'failed', status: '5.0.0', diagnostic: '550 Unknown user a@x.example' }, null).status).to.equal('5.0.0');
  });

  it('reads PowerMTA bounce categories, per recipient, for a report that says only 5.0.0', async () => {
    const raw = readFileSync(join(import.meta.dirname, '..', '..', 'samples', 'powermta-two-categories.eml'));
    const r = await parseMessage(raw, { mailFrom: '' });
    expect(r.recipients.map((x) => [x.recipient, x.status, x.type])).to.deep.equal([
      ['paolo@filtered.example.org', '5.7.1', 'hard'],
      ['ines@full.example.com', '5.2.2', 'soft'],
    ]);
  });
});
