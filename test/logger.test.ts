import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { createLogger } from '../src/logger.js';

function capture() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    for (const l of chunk.split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { stream, lines };
}

describe('logger', () => {
  it('writes one JSON line per call with its component, code, message and fields', async () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'info', format: 'json', stream }).child('smtp');
    log.log('info', 'SMTP_ACCEPTED', 'message stored', { messageId: 7 });
    await new Promise((r) => setImmediate(r));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: 'info', component: 'smtp', code: 'SMTP_ACCEPTED', message: 'message stored', messageId: 7 }).and.to.have.property('timestamp');
  });

  it('does no work for a level that is off (its fields are not even serialized), and follows setLevel', async () => {
    const { stream, lines } = capture();
    const root = createLogger({ level: 'warn', format: 'json', stream });
    const log = root.child('smtp');
    let serialized = 0;
    const field = { toJSON: () => (serialized++, 'x') };
    log.log('info', 'SMTP_ACCEPTED', 'message stored', { field });
    log.log('debug', 'HEAP_TRIMMED', 'trimmed', { field });
    await new Promise((r) => setImmediate(r));
    expect(lines).to.deep.equal([]);
    expect(serialized).to.equal(0);
    log.log('warn', 'SMTP_TEMPFAIL', 'deferred', { field });
    root.setLevel?.('info');
    log.log('info', 'SMTP_ACCEPTED', 'message stored', { field });
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l['code'], l['field']])).to.deep.equal([['SMTP_TEMPFAIL', 'x'], ['SMTP_ACCEPTED', 'x']]);
    expect(serialized).to.equal(2);
  });
});
