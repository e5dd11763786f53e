import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { CliError } from '../src/cli/context.js';
import { csv, parseSince, percent, shortDate } from '../src/cli/output.js';

describe('command line values and output', () => {
  const now = new Date('2026-11-28T12:00:00.000Z');

  it('reads --since as a date, a date and time, or a duration before now', () => {
    expect(parseSince('2026-11-01', '--since', now)).to.equal('2026-11-01T00:00:00.000Z');
    expect(parseSince('2026-11-01T08:00:00Z', '--since', now)).to.equal('2026-11-01T08:00:00.000Z');
    expect(parseSince('2026-11-01T08:00:00+02:00', '--since', now)).to.equal('2026-11-01T06:00:00.000Z');
    expect(parseSince('2026-11-01 08:30', '--since', now)).to.equal('2026-11-01T08:30:00.000Z');
    expect(parseSince('30d', '--since', now)).to.equal('2026-10-29T12:00:00.000Z');
    expect(parseSince('12h', '--since', now)).to.equal('2026-11-28T00:00:00.000Z');
    expect(parseSince('45m', '--since', now)).to.equal('2026-11-28T11:15:00.000Z');
    for (const bad of ['yesterday', '2026-13-45', '', '5w']) {
      expect(() => parseSince(bad, '--since', now), bad).to.throw(CliError).with.property('exitCode', 2);
    }
  });

  it('writes CSV that parses back to the same values, quotes and line breaks included', () => {
    const rows = [
      ['a,b', 'say "hi"', 'two\nlines', null, 3, true],
      ['plain', '', 'x', undefined, 0, false],
    ];
    const text = csv(['one', 'two', 'three', 'four', 'five', 'six'], rows);
    expect(parse(text, { columns: true })).to.deep.equal([
      { one: 'a,b', two: 'say "hi"', three: 'two\nlines', four: '', five: '3', six: 'true' },
      { one: 'plain', two: '', three: 'x', four: '', five: '0', six: 'false' },
    ]);
  });

  it('shows dates to the minute and rates with two decimals', () => {
    expect(shortDate('2026-11-28T08:05:09.123Z')).to.equal('2026-11-28 08:05');
    expect(shortDate(null)).to.equal('-');
    expect(percent(3.5)).to.equal('3.50 %');
    expect(percent(null)).to.equal('-');
  });
});
