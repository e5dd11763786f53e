import type { ContactState } from '../domain/contact-rules.js';
import type { ContactRecord } from './repositories.js';

/** Row <-> domain mapping, one function per table. Rows are snake_case. */

export interface ContactRow {
  id: number;
  email: string;
  email_key: string;
  state: string;
  soft_campaigns: string;
  complained: boolean | number;
  bounced_at: string | Date | null;
  bounced_reason: string | null;
  bounce_id: number | string | null;
  created_at: string | Date;
  updated_at: string | Date;
}

/** A timestamp as read back: a Date (PostgreSQL), an ISO string (SQLite); always ISO out. */
export function iso(value: string | Date | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString();
}

export function toContact(row: ContactRow): ContactRecord {
  return {
    id: Number(row.id),
    email: row.email,
    emailKey: row.email_key,
    state: row.state as ContactState,
    softCampaigns: parseList(row.soft_campaigns),
    complained: row.complained === true || row.complained === 1,
    bouncedAt: iso(row.bounced_at),
    bouncedReason: row.bounced_reason,
    bounceId: row.bounce_id === null ? null : Number(row.bounce_id),
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

function parseList(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

/** `<id@host>` and `id@host` are the same Message-ID; stored without brackets, lowercased. */
export function normaliseMessageId(value: string | null | undefined): string | null {
  const v = value?.trim().replace(/^<|>$/g, '').trim().toLowerCase();
  return v ? v : null;
}
