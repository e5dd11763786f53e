import type { Knex } from 'knex';
import type { Database } from './db.js';
import { num, toCampaign, type CampaignRow } from './record-rows.js';
import { iso } from './rows.js';
import { EMPTY_FIGURES, type AutomationInfo, type BouncedContact, type BounceSort, type CampaignInfo, type DomainFigures, type DomainQuery, type Figures, type ReportStore, type Rows } from './stores.js';

/**
 * Report queries. Every figure is an SQL aggregate: per (campaign, contact) first, so that a
 * contact with several records counts once per campaign, then per campaign or per domain.
 * The same SQL runs on SQLite and PostgreSQL; only the domain expression differs.
 */

const CHUNK = 500;

/**
 * One row per (campaign, contact) with records, from `bounces` alone (small next to `sends`):
 * which kinds of record the contact has on the campaign, and whether it also has a recorded
 * send (`has_send`). The contacts sent to a campaign are then its recorded sends plus its rows
 * without one, so the large `sends` table is only counted, never grouped.
 */
function recordsPerContactSql(bounceFilter: string, sendJoin = ''): string {
  return `
    SELECT b.campaign_id, b.contact_id,
      MAX(CASE WHEN b.kind = 'bounce' THEN 1 ELSE 0 END) AS bounced,
      MAX(CASE WHEN b.kind = 'bounce' AND b.type = 'hard' THEN 1 ELSE 0 END) AS hard,
      MAX(CASE WHEN b.kind = 'delay' THEN 1 ELSE 0 END) AS delayed,
      MAX(CASE WHEN b.kind = 'complaint' THEN 1 ELSE 0 END) AS complained,
      MAX(CASE WHEN b.kind = 'delivery' THEN 1 ELSE 0 END) AS delivered,
      MAX(CASE WHEN s.contact_id IS NULL THEN 0 ELSE 1 END) AS has_send
    FROM bounces b
    LEFT JOIN sends s ON s.campaign_id = b.campaign_id AND s.contact_id = b.contact_id${sendJoin}
    WHERE b.contact_id IS NOT NULL AND b.campaign_id IS NOT NULL AND ${bounceFilter}
    GROUP BY b.campaign_id, b.contact_id`;
}

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function rowsOf(result: unknown): Array<Record<string, unknown>> {
  // knex.raw: PostgreSQL returns { rows }, SQLite returns the rows.
  return Array.isArray(result) ? (result as Array<Record<string, unknown>>) : ((result as { rows: Array<Record<string, unknown>> }).rows ?? []);
}


export function knexReportStore(db: Database): ReportStore {
  const knex = db.knex;
  const domainOf = (column: string) => (db.dialect === 'pg' ? `substr(${column}, strpos(${column}, '@') + 1)` : `substr(${column}, instr(${column}, '@') + 1)`);
  const raw = async (sql: string, bindings: readonly unknown[]) => rowsOf(await knex.raw(sql, bindings as Knex.RawBinding[]));

  return {
    async campaign(id) {
      const row: CampaignRow | undefined = await knex('campaigns').where({ id }).first();
      return row ? toCampaign(row) : null;
    },

    async campaigns(filter, page) {
      const base = () => {
        const q = knex('campaigns');
        if (filter.automationId !== undefined) q.where({ automation_id: filter.automationId });
        if (filter.direct === true) q.whereNull('automation_id');
        if (filter.direct === false) q.whereNotNull('automation_id');
        return q;
      };
      const dir = filter.order === 'oldest' ? 'asc' : 'desc';
      const [rows, total] = await Promise.all([
        base().select('id', 'name', 'automation_id', 'created_at').orderBy([{ column: 'created_at', order: dir }, { column: 'id', order: 'asc' }]).limit(page.limit).offset(page.offset),
        base().count({ n: '*' }).first(),
      ]);
      return { rows: (rows as CampaignRow[]).map(toCampaign), total: num(total?.['n']) };
    },

    async figures(campaignIds) {
      const out = new Map<string, Figures>();
      const ids = [...new Set(campaignIds)];
      for (const id of ids) out.set(id, EMPTY_FIGURES);
      for (const part of chunks(ids)) {
        const ph = placeholders(part.length);
        const [sends, contacts, records] = await Promise.all([
          raw(`SELECT campaign_id, COUNT(*) AS n FROM sends WHERE campaign_id IN (${ph}) GROUP BY campaign_id`, part),
          raw(
            `SELECT campaign_id, SUM(1 - has_send) AS without_send, SUM(bounced) AS bounced, SUM(hard) AS hard,
               SUM(delayed) AS delayed, SUM(complained) AS complained, SUM(delivered) AS delivered
             FROM (${recordsPerContactSql(`b.campaign_id IN (${ph})`)}) per_contact
             GROUP BY campaign_id`,
            part,
          ),
          raw(
            `SELECT campaign_id, SUM(CASE WHEN kind = 'bounce' THEN 1 ELSE 0 END) AS bounce_records,
               SUM(CASE WHEN contact_id IS NULL THEN 1 ELSE 0 END) AS unknown_contact_records
             FROM bounces WHERE campaign_id IN (${ph}) GROUP BY campaign_id`,
            part,
          ),
        ]);
        for (const r of sends) {
          const id = String(r['campaign_id']);
          const n = num(r['n']);
          out.set(id, { ...out.get(id)!, recordedSends: n, sentTo: n });
        }
        for (const r of contacts) {
          const id = String(r['campaign_id']);
          const bounced = num(r['bounced']);
          const hard = num(r['hard']);
          const f = out.get(id)!;
          out.set(id, {
            ...f,
            sentTo: f.recordedSends + num(r['without_send']),
            bounced,
            hard,
            soft: bounced - hard,
            delayed: num(r['delayed']),
            complained: num(r['complained']),
            delivered: num(r['delivered']),
          });
        }
        for (const r of records) {
          const id = String(r['campaign_id']);
          out.set(id, { ...out.get(id)!, bounceRecords: num(r['bounce_records']), unknownContactRecords: num(r['unknown_contact_records']) });
        }
      }
      return out;
    },

    async bouncedContacts(campaignId, sort, direction, page): Promise<Rows<BouncedContact>> {
      const dir = direction === 'desc' ? 'DESC' : 'ASC';
      const order: Record<BounceSort, string> = {
        date: `received_at ${dir}, email ASC`,
        code: `status_code ${dir}, received_at ASC, email ASC`,
        type: `type ${dir}, received_at ASC, email ASC`,
        email: `email ${dir}`,
      };
      const rows = await raw(
        `SELECT contact_id, email, state, bounce_id, received_at, status_code, type, description, diagnostic, bounces FROM (
           SELECT b.contact_id, c.email, c.state, b.id AS bounce_id, b.received_at, b.status_code, b.type, b.description, b.diagnostic,
             ROW_NUMBER() OVER (PARTITION BY b.contact_id ORDER BY CASE WHEN b.type = 'hard' THEN 0 ELSE 1 END, b.received_at, b.id) AS pick,
             COUNT(*) OVER (PARTITION BY b.contact_id) AS bounces
           FROM bounces b JOIN contacts c ON c.id = b.contact_id
           WHERE b.campaign_id = ? AND b.kind = 'bounce'
         ) ranked
         WHERE pick = 1
         ORDER BY ${order[sort]}, contact_id ASC
         LIMIT ? OFFSET ?`,
        [campaignId, page.limit, page.offset],
      );
      const total = await knex('bounces').where({ campaign_id: campaignId, kind: 'bounce' }).whereNotNull('contact_id').countDistinct({ n: 'contact_id' }).first();
      return {
        total: num(total?.['n']),
        rows: rows.map((r) => ({
          contactId: num(r['contact_id']),
          email: String(r['email']),
          state: String(r['state']),
          bounceId: num(r['bounce_id']),
          date: iso(r['received_at'] as string | Date)!,
          code: (r['status_code'] as string | null) ?? null,
          type: (r['type'] as BouncedContact['type']) ?? null,
          description: (r['description'] as string | null) ?? null,
          diagnostic: (r['diagnostic'] as string | null) ?? null,
          bounces: num(r['bounces']),
        })),
      };
    },

    async automation(id) {
      const row = await knex('automations').where({ id }).first();
      if (!row) return null;
      const n = await knex('campaigns').where({ automation_id: id }).count({ n: '*' }).first();
      return { id: row.id, name: row.name, createdAt: iso(row.created_at)!, campaigns: num(n?.['n']) };
    },

    async automations(page): Promise<Rows<AutomationInfo>> {
      const [rows, total] = await Promise.all([
        knex('automations as a')
          .leftJoin('campaigns as c', 'c.automation_id', 'a.id')
          .groupBy('a.id', 'a.name', 'a.created_at')
          .select('a.id', 'a.name', 'a.created_at')
          .count({ campaigns: 'c.id' })
          .orderBy('a.id')
          .limit(page.limit)
          .offset(page.offset),
        knex('automations').count({ n: '*' }).first(),
      ]);
      return {
        total: num(total?.['n']),
        rows: (rows as Array<Record<string, unknown>>).map((r) => ({ id: String(r['id']), name: (r['name'] as string | null) ?? null, createdAt: iso(r['created_at'] as string | Date)!, campaigns: num(r['campaigns']) })),
      };
    },

    async automationCampaigns(automationIds): Promise<CampaignInfo[]> {
      const out: CampaignInfo[] = [];
      for (const part of chunks([...new Set(automationIds)])) {
        const rows: CampaignRow[] = await knex('campaigns').whereIn('automation_id', part).orderBy([{ column: 'created_at' }, { column: 'id' }]);
        out.push(...rows.map(toCampaign));
      }
      return out;
    },

    async domains(query: DomainQuery, page): Promise<Rows<DomainFigures>> {
      const since = query.since ?? null;
      const minSent = Math.max(0, Math.floor(query.minSent ?? 0));
      const domain = domainOf('c.email');
      // Contacts sent to per domain: recorded sends, plus (campaign, contact) rows with records
      // and no recorded send; the rest of the figures come from the records.
      const grouped = `
        SELECT domain, SUM(sent_to) AS sent_to, SUM(bounced) AS bounced, SUM(hard) AS hard, SUM(delayed) AS delayed, SUM(complained) AS complained
        FROM (
          SELECT ${domain} AS domain, SUM(sc.sends) AS sent_to, 0 AS bounced, 0 AS hard, 0 AS delayed, 0 AS complained
          FROM (SELECT contact_id, COUNT(*) AS sends FROM sends WHERE ${since ? 'sent_at >= ?' : '1 = 1'} GROUP BY contact_id) sc
          JOIN contacts c ON c.id = sc.contact_id
          GROUP BY ${domain}
          UNION ALL
          SELECT ${domain} AS domain, SUM(1 - pc.has_send), SUM(pc.bounced), SUM(pc.hard), SUM(pc.delayed), SUM(pc.complained)
          FROM (${recordsPerContactSql(since ? 'b.received_at >= ?' : '1 = 1', since ? ' AND s.sent_at >= ?' : '')}) pc
          JOIN contacts c ON c.id = pc.contact_id
          GROUP BY ${domain}
        ) parts
        GROUP BY domain
        HAVING SUM(sent_to) >= ?`;
      const sinceBindings = since ? [since, since, since] : [];
      const order: Record<NonNullable<DomainQuery['sort']>, string> = {
        bounced: 'bounced DESC, sent_to DESC, domain ASC',
        rate: 'CAST(bounced AS REAL) / sent_to DESC, bounced DESC, domain ASC',
        sent: 'sent_to DESC, domain ASC',
        domain: 'domain ASC',
      };
      const [rows, total] = await Promise.all([
        raw(`SELECT * FROM (${grouped}) d ORDER BY ${order[query.sort ?? 'bounced']} LIMIT ? OFFSET ?`, [...sinceBindings, minSent, page.limit, page.offset]),
        raw(`SELECT COUNT(*) AS n FROM (${grouped}) d`, [...sinceBindings, minSent]),
      ]);
      const domains = rows.map((r) => String(r['domain']));
      const top = new Map<string, { code: string; n: number }>();
      for (const part of chunks(domains)) {
        const codes = await raw(
          `SELECT domain, status_code, COUNT(*) AS n FROM (
             SELECT ${domain} AS domain, b.status_code FROM bounces b JOIN contacts c ON c.id = b.contact_id
             WHERE b.kind = 'bounce' AND b.campaign_id IS NOT NULL${since ? ' AND b.received_at >= ?' : ''}
           ) x WHERE domain IN (${placeholders(part.length)}) AND status_code IS NOT NULL
           GROUP BY domain, status_code`,
          [...(since ? [since] : []), ...part],
        );
        for (const r of codes) {
          const d = String(r['domain']);
          const n = num(r['n']);
          const code = String(r['status_code']);
          const best = top.get(d);
          if (!best || n > best.n || (n === best.n && code < best.code)) top.set(d, { code, n });
        }
      }
      return {
        total: num(total[0]?.['n']),
        rows: rows.map((r) => {
          const d = String(r['domain']);
          const bounced = num(r['bounced']);
          const hard = num(r['hard']);
          return {
            domain: d,
            sentTo: num(r['sent_to']),
            bounced,
            hard,
            soft: bounced - hard,
            delayed: num(r['delayed']),
            complained: num(r['complained']),
            topCode: top.get(d)?.code ?? null,
            topCodeRecords: top.get(d)?.n ?? 0,
          };
        }),
      };
    },
  };
}
