import { expect } from 'chai';
import { LogThrottle } from '../../src/smtp/log-throttle.js';

describe('log throttle', () => {
  it('lets through at most N lines per key and window, and reports the held-back count with the next window', () => {
    const t = new LogThrottle(3, 1000);
    const logged = (key: string, now: number) => t.admit(key, now);
    expect(logged('a', 0)).to.deep.equal({ log: true, suppressed: 0, throttled: false });
    expect(logged('a', 10).log).to.equal(true);
    expect(logged('a', 20)).to.deep.equal({ log: true, suppressed: 0, throttled: true });
    for (let i = 0; i < 5; i++) expect(logged('a', 30 + i).log).to.equal(false);
    // Another key has its own allowance.
    expect(logged('b', 40).log).to.equal(true);
    // The window of `a` started at 0: at 999 it is still over its allowance, at 1000 a new one starts.
    expect(logged('a', 999).log).to.equal(false);
    expect(logged('a', 1000)).to.deep.equal({ log: true, suppressed: 6, throttled: false });
    expect(logged('a', 1001)).to.deep.equal({ log: true, suppressed: 0, throttled: false });
  });

  it('forgets windows that are over, so memory stays bounded', () => {
    const t = new LogThrottle(1, 1000);
    for (let i = 0; i < 10_000; i++) t.admit(`k${i}`, 0);
    expect(t.size).to.equal(10_000);
    t.admit('late', 5000);
    expect(t.size).to.equal(1);
    // A flood of distinct keys within one window keeps the newest 10,000.
    for (let i = 0; i < 12_000; i++) t.admit(`f${i}`, 6000);
    expect(t.size).to.equal(10_000);
  });
});
