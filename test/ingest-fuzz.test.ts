import { expect } from 'chai';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, type App } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { testConfig } from './helpers/config.js';
import { createSqlite, type TestDatabase } from './helpers/db.js';

/**
 * Property: whatever bytes arrive at a return path, ingest stores a record of them (processed,
 * unattributed, or unparseable) and never throws: nothing accepted is lost.
 */
const dir = join(import.meta.dirname, '..', 'samples');
const samples = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().map((f) => readFileSync(join(dir, f)));

describe('ingest robustness (property-based)', function () {
  this.timeout(300_000);
  let db: TestDatabase;
  let app: App;
  before(async () => {
    db = createSqlite();
    app = await createApp(testConfig(db.url), { logger: silentLogger });
  });
  after(async () => {
    await app?.close();
    await db?.drop();
  });

  it('stores a record of every random or damaged message, never throwing', async () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.nat({ max: samples.length - 1 }), fc.nat(), fc.nat({ max: 3000 })).map(([i, at, len]) => {
        const s = samples[i]!;
        const cut = at % (s.length + 1);
        return Buffer.concat([s.subarray(0, cut), s.subarray(cut + len)]);
      }),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(input, async (raw) => {
        const to = encodeReturnPath(app.verp, `f${n++}`, 'fuzz@example.org');
        const result = await app.ingestor.ingest({ raw, mailFrom: '', rcptTo: [to], transport: 'import' });
        expect(['stored', 'duplicate']).to.include(result.outcome);
        const row = await app.db.knex('messages').where({ id: result.messageId }).first();
        expect(row, 'stored').to.not.equal(undefined);
        expect(['processed', 'unattributed', 'unparseable']).to.include(row.status);
      }),
      { numRuns: 60 },
    );
  });
});
