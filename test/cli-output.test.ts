import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { CliError } from '../src/cli/context.js';
import { box, csv, csvCell, parseSince, percent, shortDate, table, terminalText } from '../src/cli/output.js';

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

  it('writes a cell that starts like a formula as text, and escapes control characters; numbers stay numbers', () => {
    const hostile = '=HYPERLINK("http://x.example/","y")\x1b[31m';
    for (const start of ['=', '+', '-', '@', '\t', '\r']) expect(csvCell(`${start}1+1`), JSON.stringify(start)).to.match(/^'/);
    expect(csvCell(hostile)).to.equal(`'=HYPERLINK("http://x.example/","y")\\u001b[31m`);
    expect(csvCell('-5')).to.equal("'-5"); // a string, even one that looks like a number
    expect(csvCell(-5)).to.equal(-5);
    expect(csvCell('plain text')).to.equal('plain text');
    expect(csvCell('tab\tand\nline')).to.equal('tab\tand\nline');
    const [row] = parse(csv(['diagnostic', 'count'], [[hostile, -3]]), { columns: true }) as Array<Record<string, string>>;
    expect(row).to.deep.equal({ diagnostic: `'=HYPERLINK("http://x.example/","y")\\u001b[31m`, count: '-3' });
  });

  it('shows control characters in tables and lines as escapes, so that a terminal does not act on them', () => {
    const hostile = 'user unknown\x1b[31m\x1b]8;;http://x.example/\x07link\x9b2J\x7f\r\u202eevil';
    for (const text of [table(['diagnostic'], [[hostile]]), box([['diagnostic', hostile]])]) {
      expect(text).not.to.match(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
      expect(text).to.contain('user unknown\\u001b[31m\\u001b]8;;http://x.example/\\u0007link\\u009b2J\\u007f\\u000d\\u202eevil');
    }
    expect(terminalText('a\nb\x1b', true)).to.equal('a\nb\\u001b');
    expect(terminalText('a\nb')).to.equal('a\\u000ab');
    expect(JSON.parse(terminalText(JSON.stringify({ d: '\x9b\u2028' }), true))).to.deep.equal({ d: '\x9b\u2028' });
  });

  it('shows dates to the minute and rates with two decimals', () => {
    expect(shortDate('2026-11-28T08:05:09.123Z')).to.equal('2026-11-28 08:05');
    expect(shortDate(null)).to.equal('-');
    expect(percent(3.5)).to.equal('3.50 %');
    expect(percent(null)).to.equal('-');
  });
});
