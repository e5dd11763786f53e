import { expect } from 'chai';
import { edgeCases } from './fuzz/messages.js';
import { dataFor, runFuzz } from './fuzz/harness.js';

/**
 * The fast subset of `npm run fuzz`: the edge cases and a few hundred generated hostile
 * messages through a real receiver. Every one is stored byte for byte or refused with 552 over
 * a size limit; the receiver never crashes and stops cleanly. The seed is in the title;
 * REBOND_TEST_SEED replays a run.
 */
const SEED = Number(process.env['REBOND_TEST_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

describe('hostile content through the whole path', function () {
  this.timeout(300_000);

  it('sends exactly the stored bytes: dot-stuffing and the final line end are handled by the harness', () => {
    expect(dataFor(Buffer.from('.a\r\n.\r\nb')).wire.toString()).to.equal('..a\r\n..\r\nb\r\n.\r\n');
    expect(dataFor(Buffer.from('.a\r\n.\r\nb')).stored.toString()).to.equal('.a\r\n.\r\nb\r\n');
  });

  it(`stores or refuses with a clear reply every hostile message, and never crashes (seed ${SEED})`, async () => {
    const limits = { maxMessageBytes: 3 * 1024 * 1024, maxHeaderBytes: 64 * 1024 };
    const report = await runFuzz({ cases: 300, seed: SEED, fixed: edgeCases(limits), ...limits, sessions: 3 });
    expect(report.failures, JSON.stringify(report.failures, null, 1)).to.deep.equal([]);
    expect(report.exitCode).to.equal(0);
    expect(report.stored).to.be.greaterThan(200);
    expect(report.refused, 'the cases over a limit were refused').to.be.at.least(2);
  });
});
