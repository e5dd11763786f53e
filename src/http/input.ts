import { z } from 'zod';
import { checkCampaignId } from '../domain/verp.js';

/**
 * Request input, validated with zod. A value that does not validate is a 400 whose body names
 * each bad field (`HttpError.issues`).
 */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }> = [],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Parses `value` with `schema`, or throws a 400 naming each bad field (`where`: query, body...). */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  throw new HttpError(400, 'bad_request', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

/** Longest sign-in target kept; a longer one is dropped for `/`. */
const MAX_NEXT = 2048;

/**
 * Where to go after sign-in: a path of this server (one `/`, not `//` nor `/\`), printable
 * ASCII without spaces or backslashes, at most 2048 characters, not the sign-in page itself;
 * anything else is `/`. It becomes a Location header, which must hold nothing else.
 */
export function signInTarget(next: unknown): string {
  if (typeof next !== 'string' || next.length > MAX_NEXT) return '/';
  if (!/^\/(?![/\\])[\x21-\x5b\x5d-\x7e]*$/.test(next) || /^\/login(?![\w-])/.test(next)) return '/';
  return next;
}

const count = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const limit = count(1, 1000).optional();
export const offset = count(0, 1_000_000_000).optional();

export const EMAIL = /^[^@\s]+@[^@\s]+$/;
export const email = z
  .string({ error: 'an email address is required' })
  .transform((e) => e.trim().toLowerCase())
  .pipe(z.string().max(320, 'must be at most 320 characters').regex(EMAIL, 'must be an email address'));

export const campaignId = (prefix: () => string) =>
  z.string({ error: 'a campaign id is required' }).superRefine((id, ctx) => {
    try {
      checkCampaignId(id, prefix());
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

export const automationId = z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters');

/**
 * An instant: a date (`2026-11-01`, midnight UTC), a date and time (`2026-11-01T08:00:00Z`), or
 * a duration before now (`30d`, `12h`, `45m`); as ISO-8601 UTC.
 */
export const instant = z.string().transform((value, ctx) => {
  const v = value.trim();
  const relative = /^(\d{1,6})([dhm])$/i.exec(v);
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2]!.toLowerCase() as 'd' | 'h' | 'm'];
    return new Date(Date.now() - Number(relative[1]) * unit).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i.test(v)) {
    const d = new Date(v.length === 10 ? `${v}T00:00:00Z` : v);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  ctx.addIssue({ code: 'custom', message: 'must be a date (2026-11-01), a date and time with a zone (2026-11-01T08:00:00Z) or a duration (30d, 12h, 45m)' });
  return z.NEVER;
});

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const campaignsQuery = z
  .object({ automation: automationId.optional(), direct: flag.optional(), order: z.enum(['newest', 'oldest']).optional(), limit, offset })
  .strict();

export const bouncesQuery = z
  .object({ sort: z.enum(['date', 'code', 'type', 'email']).optional(), direction: z.enum(['asc', 'desc']).optional(), limit, offset })
  .strict();

export const pageQuery = z.object({ limit, offset }).strict();

export const domainsQuery = z
  .object({ since: instant.optional(), minSent: count(0, 1_000_000_000).optional(), sort: z.enum(['bounced', 'rate', 'sent', 'domain']).optional(), limit, offset })
  .strict();

export const contactQuery = z.object({ historyLimit: limit, historyOffset: offset, eventsLimit: limit, eventsOffset: offset }).strict();

export const unbounceBody = z
  .object({
    reason: z.string({ error: 'a reason is required' }).trim().min(1, 'a reason is required').max(1000, 'must be at most 1000 characters'),
    operator: z.string({ error: 'an operator name is required' }).trim().min(1, 'an operator name is required').max(100, 'must be at most 100 characters'),
  })
  .strict();

/** The suppression list's keyset cursor, as the opaque string `next` the API returns. */
export interface Cursor {
  readonly createdAt: string;
  readonly contactId: number;
  readonly reason: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.contactId, c.reason])).toString('base64url');
}

export const cursor = z.string().transform((value, ctx) => {
  try {
    const [createdAt, contactId, reason] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt)) && Number.isInteger(contactId) && typeof reason === 'string') {
      return { createdAt: new Date(createdAt).toISOString(), contactId: contactId as number, reason };
    }
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'must be the `next` value of a previous page' });
  return z.NEVER;
});

export const suppressionsQuery = z.object({ since: instant.optional(), search: z.string().max(320).optional(), after: cursor.optional(), limit }).strict();

export const checkBody = z.object({ emails: z.array(email).min(1, 'at least one address').max(1000, 'at most 1000 addresses') }).strict();

const isoDateTime = z
  .string()
  .refine((v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(v) && !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 date and time with a zone (2026-11-28T08:00:00Z)');

export const sendBody = (prefix: () => string, domains: () => readonly string[]) =>
  z
    .object({
      campaignId: campaignId(prefix),
      email,
      messageId: z.string().max(998).nullable().optional(),
      sentAt: isoDateTime.optional(),
      domain: z
        .string()
        .transform((d) => d.trim().toLowerCase())
        .refine((d) => domains().includes(d), { message: 'must be one of the configured bounce domains (verp.domains)' })
        .optional(),
    })
    .strict();

export const deliveryBody = (prefix: () => string) =>
  z.object({ email, campaignId: campaignId(prefix).nullable().optional(), at: isoDateTime.optional() }).strict();

export const campaignBody = z.object({ name: z.string().max(200).nullable().optional(), automationId: automationId.nullable().optional() }).strict();
export const automationBody = z.object({ name: z.string().max(200).nullable().optional() }).strict();
