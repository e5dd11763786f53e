import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, type App } from '../src/app.js';
import { contactKey, encodeReturnPath } from '../src/domain/verp.js';
import { envelopeSenderOf } from '../src/dsn/parse.js';
import { silentLogger } from '../src/logger.js';
import { testConfig } from './helpers/config.js';
import { createSqlite, type TestDatabase } from './helpers/db.js';

/**
 * Every sample, received at a signed return path for one contact, changes that contact only as
 * its kind allows: auto-replies, challenge/response, read receipts, human replies, delays and
 * junk never bounce, suppress or count; a hard bounce bounces; a complaint suppresses.
 */
const dir = join(import.meta.dirname, '..', 'samples');
const samples = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();

describe('samples through ingest', () => {
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

  samples.forEach((file, n) => {
    const want = JSON.parse(readFileSync(join(dir, file.replace(/\.eml$/, '.expected.json')), 'utf8')) as { kind: string; recipients: Array<{ recipient: string | null; type?: string | null }> };
    it(`applies ${file} as a ${want.kind}`, async () => {
      const raw = readFileSync(join(dir, file));
      // The contact is the report's first recipient (or a stand-in), named by the envelope token.
      const email = want.recipients[0]?.recipient ?? `contact${n}@example.org`;
      const to = encodeReturnPath(app.verp, `c${n}`, email);
      // The send pipeline registered the contact (a report that names nobody still reaches it).
      await app.uow.transaction((repos) => repos.contacts.ensure(email, contactKey(email), new Date().toISOString()));
      const result = await app.ingestor.ingest({ raw, mailFrom: envelopeSenderOf(raw), rcptTo: [to], transport: 'import' });
      expect(result.kind).to.equal(want.kind);
      const contact = await app.db.knex('contacts').where({ email }).first();
      const suppressions = contact ? (await app.db.knex('suppressions').where({ contact_id: contact.id })).map((s) => s.reason) : [];
      if (['autoreply', 'unknown', 'delay', 'delivery'].includes(want.kind)) {
        expect(contact?.state ?? 'active', 'state').to.equal('active');
        expect(suppressions, 'suppressions').to.deep.equal([]);
        expect(await app.db.knex('bounces').where({ message_id: result.messageId, counted: true }).first(), 'counted').to.equal(undefined);
      } else if (want.kind === 'complaint') {
        expect(suppressions).to.deep.equal(['complaint']);
      } else if (want.recipients[0]?.type === 'hard') {
        expect(contact.state).to.equal('bounced');
        expect(suppressions).to.deep.equal(['hard_bounce']);
      } else {
        expect(contact.state).to.equal('active');
        expect(JSON.parse(contact.soft_campaigns)).to.deep.equal([`c${n}`]);
      }
    });
  });
});
