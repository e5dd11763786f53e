import type { ContactEventName, SuppressionReason } from '../domain/contact-rules.js';
import type { BounceType } from '../domain/status-table.js';
import type { MessageStatus, Transport } from './repositories.js';
import { iso } from './rows.js';
import type { BounceRecord, CampaignInfo, ContactEventRecord, StoredMessage, SuppressionRecord } from './stores.js';

/** Row -> domain mapping for the tables that reports and replay read; one function per table. */

type Stamp = string | Date;
type Id = number | string;

export interface BounceRow {
  id: Id;
  message_id: Id;
  campaign_id: string | null;
  contact_id: Id | null;
  recipient: string | null;
  kind: string;
  action: string | null;
  status_code: string | null;
  status_source: string | null;
  type: string | null;
  description: string | null;
  diagnostic: string | null;
  remote_mta: string | null;
  reporting_mta: string | null;
  counted: boolean | number;
  received_at: Stamp;
}

export function toBounceRecord(row: BounceRow): BounceRecord {
  return {
    id: Number(row.id),
    messageId: Number(row.message_id),
    campaignId: row.campaign_id,
    contactId: row.contact_id === null ? null : Number(row.contact_id),
    recipient: row.recipient,
    kind: row.kind,
    action: row.action,
    statusCode: row.status_code,
    statusSource: row.status_source,
    type: row.type as BounceType | null,
    description: row.description,
    diagnostic: row.diagnostic,
    remoteMta: row.remote_mta,
    reportingMta: row.reporting_mta,
    counted: row.counted === true || row.counted === 1,
    receivedAt: iso(row.received_at)!,
  };
}

export interface ContactEventRow {
  id: Id;
  at: Stamp;
  event: string;
  from_state: string;
  to_state: string;
  actor: string;
  detail: string;
  bounce_id: Id | null;
}

export function toContactEvent(row: ContactEventRow): ContactEventRecord {
  return {
    id: Number(row.id),
    at: iso(row.at)!,
    event: row.event as ContactEventName,
    fromState: row.from_state,
    toState: row.to_state,
    actor: row.actor,
    detail: row.detail,
    bounceId: row.bounce_id === null ? null : Number(row.bounce_id),
  };
}

export interface SuppressionRow {
  contact_id: Id;
  email: string;
  reason: string;
  created_at: Stamp;
  bounce_id: Id | null;
  campaign_id?: string | null;
  status_code?: string | null;
}

export function toSuppression(row: SuppressionRow): SuppressionRecord {
  return {
    contactId: Number(row.contact_id),
    email: row.email,
    reason: row.reason as SuppressionReason,
    createdAt: iso(row.created_at)!,
    bounceId: row.bounce_id === null ? null : Number(row.bounce_id),
    campaignId: row.campaign_id ?? null,
    statusCode: row.status_code ?? null,
  };
}

export interface CampaignRow {
  id: string;
  name: string | null;
  automation_id: string | null;
  created_at: Stamp;
}

export function toCampaign(row: CampaignRow): CampaignInfo {
  return { id: row.id, name: row.name, automationId: row.automation_id, createdAt: iso(row.created_at)! };
}

export interface MessageRow {
  id: Id;
  received_at: Stamp;
  transport: string;
  mail_from: string | null;
  rcpt_to: string;
  remote_address: string | null;
  helo: string | null;
  size: Id;
  raw: Buffer | Uint8Array | null;
  kind: string;
  format: string;
  status: string;
  problems: string | null;
  header_message_id: string | null;
  campaign_id: string | null;
  contact_key: string | null;
}

export function toStoredMessage(row: MessageRow): StoredMessage {
  return {
    id: Number(row.id),
    receivedAt: iso(row.received_at)!,
    transport: row.transport as Transport,
    mailFrom: row.mail_from,
    rcptTo: jsonList(row.rcpt_to),
    remoteAddress: row.remote_address,
    helo: row.helo,
    size: Number(row.size),
    raw: row.raw === null ? null : Buffer.isBuffer(row.raw) ? row.raw : Buffer.from(row.raw),
    kind: row.kind,
    format: row.format,
    status: row.status as MessageStatus,
    problems: row.problems ? jsonList(row.problems) : [],
    headerMessageId: row.header_message_id,
    campaignId: row.campaign_id,
    contactKey: row.contact_key,
  };
}

function jsonList(text: string | null): string[] {
  try {
    const v: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

/** A count as returned by either database (PostgreSQL sends bigint as text). */
export function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return Number(value);
}
