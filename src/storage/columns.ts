import type { ContactEventRepository, Repositories } from './repositories.js';
import type { ReplayRepository } from './stores.js';

/**
 * Every text the services write goes through here on its way to either database, so that a
 * value from a hostile message is stored (clipped) rather than refused: PostgreSQL rejects a
 * `varchar(n)` value over n characters and any text holding a NUL, and a refused row would
 * defer the message (451) at every retry of the remote. SQLite would take both, so it gets the
 * same treatment and both databases hold the same rows. The raw message is kept whole.
 */

/**
 * The longest text of each column, in characters: the sizes of `t.string(name, n)` in
 * `migrations/` (a test compares them with the PostgreSQL schema). Text columns are absent.
 */
export const COLUMN_SIZES = {
  campaigns: { id: 64, name: 255, automation_id: 64 },
  contacts: { email: 320, email_key: 16, state: 16, bounced_reason: 32 },
  sends: { campaign_id: 64, message_id: 998 },
  messages: { fingerprint: 64, transport: 16, mail_from: 512, remote_address: 64, helo: 255, kind: 16, format: 32, status: 16, header_message_id: 998, campaign_id: 64, contact_key: 16 },
  bounces: { campaign_id: 64, recipient: 320, kind: 16, action: 16, status_code: 16, status_source: 16, type: 8, remote_mta: 255, reporting_mta: 255 },
  suppressions: { email: 320, reason: 32 },
  contact_events: { event: 32, from_state: 16, to_state: 16, actor: 255 },
} as const satisfies Record<string, Record<string, number>>;

export type SizedTable = keyof typeof COLUMN_SIZES;

/**
 * Our own bound on the text columns that take a report's words, so that the bytes one message
 * writes are bounded too (a diagnostic is an SMTP reply of a few lines; a decoder may give the
 * same one to each of a report's recipients).
 */
export const TEXT_LIMITS: Partial<Record<SizedTable, Record<string, number>>> = {
  bounces: { description: 4000, diagnostic: 4000 },
};

/** Lone UTF-16 surrogates (no UTF-8 form) and NUL (ends a C string; PostgreSQL refuses it). */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text as it can be stored: NUL and lone surrogates replaced by U+FFFD, at most `max` characters (code points, as PostgreSQL counts). */
export function storable(text: string, max = Number.POSITIVE_INFINITY): string {
  const clean = text.replace(UNSTORABLE, '\uFFFD');
  // A string of at most `max` UTF-16 units has at most `max` code points.
  if (clean.length <= max) return clean;
  let end = 0;
  for (let n = 0; n < max && end < clean.length; n++) {
    const c = clean.charCodeAt(end);
    end += c >= 0xd800 && c <= 0xdbff && end + 1 < clean.length ? 2 : 1;
  }
  return clean.slice(0, end);
}

function snake(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `row` (domain fields, camelCase) with every text made storable in `table`'s columns. */
export function fit<T extends object>(table: SizedTable, row: T): T {
  const sizes: Record<string, number> = { ...COLUMN_SIZES[table], ...TEXT_LIMITS[table] };
  const out = { ...row } as Record<string, unknown>;
  for (const [field, value] of Object.entries(out)) {
    if (typeof value === 'string') out[field] = storable(value, sizes[snake(field)]);
  }
  return out as T;
}

/**
 * The repositories with every write made storable (see `fit`): the one place where values meet
 * the column sizes, on SQLite and PostgreSQL alike.
 */
export function fitted(repos: Repositories): Repositories {
  const events: ContactEventRepository = { insert: (e) => repos.events.insert(fit('contact_events', e)) };
  return {
    ...repos,
    messages: {
      ...repos.messages,
      insertIfNew: (m) => repos.messages.insertIfNew({ ...fit('messages', m), rcptTo: m.rcptTo.map((r) => storable(r)), problems: m.problems.map((p) => storable(p)) }),
    },
    campaigns: {
      ensure: (id, at) => repos.campaigns.ensure(storable(id, COLUMN_SIZES.campaigns.id), at),
      ensureAll: (list) => repos.campaigns.ensureAll(list.map((c) => ({ ...c, id: storable(c.id, COLUMN_SIZES.campaigns.id) }))),
    },
    contacts: {
      ...repos.contacts,
      ensure: (email, key, at) => repos.contacts.ensure(storable(email, COLUMN_SIZES.contacts.email), key, at),
      update: (id, u) => repos.contacts.update(id, fit('contacts', u)),
    },
    sends: { ...repos.sends, record: (s) => repos.sends.record(fit('sends', s)) },
    bounces: { insert: (b) => repos.bounces.insert(fit('bounces', b)) },
    suppressions: {
      ...repos.suppressions,
      add: (contactId, email, reason, bounceId, at) => repos.suppressions.add(contactId, storable(email, COLUMN_SIZES.suppressions.email), reason, bounceId, at),
    },
    events,
  };
}

/** Replay's writes made storable likewise. */
export function fittedReplay(replay: ReplayRepository): ReplayRepository {
  return {
    ...replay,
    updateMessage: (id, u) => replay.updateMessage(id, { ...fit('messages', u), problems: u.problems.map((p) => storable(p)) }),
  };
}
