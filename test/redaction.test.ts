import { expect } from 'chai';
import knexFactory from 'knex';
import { redactUrl } from '../src/config.js';
import { errorCode, errorText, stackFrames } from '../src/logger.js';
import { TemporaryFailure } from '../src/services/ingest.js';
import { sqlitePath } from '../src/storage/db.js';
import { createSqlite } from './helpers/db.js';

/** What logs and operator output may show of a database URL and of a database error. */
describe('redaction', () => {
  it('hides the whole password of a database URL, an @ in it included', () => {
    expect(redactUrl('postgres://u:p@ss@db.example:5432/rebond')).to.equal('postgres://u:***@db.example:5432/rebond');
    expect(redactUrl('postgresql://rebond:s3cr3t@db.example/rebond?sslmode=require')).to.equal('postgresql://rebond:***@db.example/rebond?sslmode=require');
    expect(redactUrl('postgres://rebond@db.example/rebond')).to.equal('postgres://rebond@db.example/rebond');
    expect(redactUrl('sqlite:data/rebond.sqlite')).to.equal('sqlite:data/rebond.sqlite');
    // Not a URL the parser takes: everything up to the last @ goes.
    expect(redactUrl('postgres://u:p@ss@[::1/db')).to.equal('postgres://***@[::1/db');
  });

  it('keeps the code and the database words of a knex error, never the statement and its bound values', async () => {
    const tdb = createSqlite();
    const knex = knexFactory({ client: 'sqlite3', connection: { filename: sqlitePath(tdb.url) }, useNullAsDefault: true });
    try {
      await knex.schema.createTable('t', (t) => {
        t.string('a').notNullable();
        t.string('b').notNullable();
      });
      const err = await knex('t')
        .insert({ a: 'Final-Recipient: rfc822; secret@example.org - raw bytes' })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(String((err as Error).message), 'knex writes the values in').to.contain('secret@example.org');
      expect(errorCode(err)).to.equal('SQLITE_CONSTRAINT');
      expect(errorText(err)).to.equal('SQLITE_CONSTRAINT: NOT NULL constraint failed: t.b');
      expect(new TemporaryFailure(err).message).to.equal('database unavailable: SQLITE_CONSTRAINT: NOT NULL constraint failed: t.b');
      // The stack logged for an unexpected failure: where it was thrown, never the message.
      expect(stackFrames(err)).to.not.contain('secret@example.org');
      expect(stackFrames(new Error('insert into t values (secret@example.org)'))).to.match(/^\s*at /).and.not.contain('secret@example.org');
    } finally {
      await knex.destroy();
      await tdb.drop();
    }
  });
});
