import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { App } from '../app.js';
import { OperatorError } from '../services/contacts.js';
import { html, path } from './html.js';
import { cursor, email, encodeCursor, HttpError, parse } from './input.js';
import { automationPage, automationsPage, bouncesPage, campaignPage, campaignsPage, contactPage, contactSearchPage, flash, suppressionsPage, type CampaignKind } from './views.js';

/**
 * The reports pages, server-rendered: campaigns (direct and in automations), a campaign's
 * summary box and its bounced contacts, automations and their campaigns, a contact with its
 * history, audit trail and unbounce form, the suppression list. Authentication is checked by
 * server.ts before any of these handlers runs.
 */

const PER_PAGE = 50;
const pageNumber = z
  .string()
  .regex(/^\d{1,7}$/, 'must be a page number')
  .transform(Number)
  .pipe(z.number().int().min(1))
  .optional();

function sendPage(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

export function registerPages(server: FastifyInstance, app: App): void {
  const automationNames = async (ids: ReadonlyArray<string | null>) => {
    const unique = [...new Set(ids.filter((id): id is string => id !== null))];
    const infos = await Promise.all(unique.map((id) => app.reports.automationInfo(id)));
    return new Map(unique.map((id, i) => [id, infos[i]?.name ?? null]));
  };
  const campaignOr404 = async (id: string) => {
    const c = await app.reports.campaignSummary(id);
    if (!c) throw new HttpError(404, 'not_found', `No campaign "${id}".`);
    return c;
  };
  const idParam = z.object({ id: z.string().min(1).max(200) });

  server.get('/', async (_req, reply) => reply.redirect('/campaigns', 303));

  server.get('/campaigns', async (req, reply) => {
    const q = parse(z.object({ kind: z.enum(['all', 'direct', 'automation']).optional(), page: pageNumber }), req.query, 'query');
    const kind: CampaignKind = q.kind ?? 'all';
    const page = q.page ?? 1;
    const list = await app.reports.campaigns(kind === 'all' ? {} : { direct: kind === 'direct' }, { limit: PER_PAGE, offset: (page - 1) * PER_PAGE });
    return sendPage(reply, campaignsPage(list, kind, await automationNames(list.items.map((c) => c.automationId))));
  });

  server.get('/campaigns/:id', async (req, reply) => {
    const { id } = parse(idParam, req.params, 'path');
    const c = await campaignOr404(id);
    const names = await automationNames([c.automationId]);
    return sendPage(reply, campaignPage(c, c.automationId ? (names.get(c.automationId) ?? null) : null));
  });

  server.get('/campaigns/:id/bounces', async (req, reply) => {
    const { id } = parse(idParam, req.params, 'path');
    const q = parse(z.object({ sort: z.enum(['date', 'code', 'type', 'email']).optional(), dir: z.enum(['asc', 'desc']).optional(), page: pageNumber }), req.query, 'query');
    const c = await campaignOr404(id);
    const state = { sort: q.sort ?? 'date', direction: q.dir ?? 'asc' } as const;
    const page = q.page ?? 1;
    const [bounces, names] = await Promise.all([
      app.reports.bouncedContacts(id, { sort: state.sort, direction: state.direction, limit: PER_PAGE, offset: (page - 1) * PER_PAGE }),
      automationNames([c.automationId]),
    ]);
    return sendPage(reply, bouncesPage(c, c.automationId ? (names.get(c.automationId) ?? null) : null, bounces, state));
  });

  server.get('/automations', async (req, reply) => {
    const q = parse(z.object({ page: pageNumber }), req.query, 'query');
    const page = q.page ?? 1;
    return sendPage(reply, automationsPage(await app.reports.automations({ limit: PER_PAGE, offset: (page - 1) * PER_PAGE })));
  });

  server.get('/automations/:id', async (req, reply) => {
    const { id } = parse(idParam, req.params, 'path');
    const report = await app.reports.automation(id);
    if (!report) throw new HttpError(404, 'not_found', `No automation "${id}".`);
    return sendPage(reply, automationPage(report));
  });

  server.get('/contacts', async (req, reply) => {
    const q = parse(z.object({ email: z.string().max(320).optional() }), req.query, 'query');
    const wanted = q.email?.trim().toLowerCase() ?? '';
    if (!wanted) return sendPage(reply, contactSearchPage('', false));
    if (await app.contacts.show(wanted, { history: { limit: 1 }, events: { limit: 1 } })) return reply.redirect(path('contacts', wanted), 303);
    return sendPage(reply, contactSearchPage(wanted, true), 404);
  });

  const contactParams = z.object({ email });
  const showContact = async (address: string, historyPage: number) => {
    const view = await app.contacts.show(address, { history: { limit: PER_PAGE, offset: (historyPage - 1) * PER_PAGE }, events: { limit: 500 } });
    if (!view) throw new HttpError(404, 'not_found', `No contact ${address}.`);
    return view;
  };

  server.get('/contacts/:email', async (req, reply) => {
    const { email: address } = parse(contactParams, req.params, 'path');
    const q = parse(z.object({ history: pageNumber, unbounced: z.literal('1').optional() }), req.query, 'query');
    const view = await showContact(address, q.history ?? 1);
    const complaint = view.suppressions.some((s) => s.reason === 'complaint');
    const done = q.unbounced && view.contact.state === 'active'
      ? flash(complaint ? 'warn' : 'ok', complaint ? html`Unbounced: ${address} is active again, but still suppressed for a complaint: do not mail it.` : html`Unbounced: ${address} is active again and no longer suppressed.`)
      : undefined;
    return sendPage(reply, contactPage(view, { historyPage: q.history ?? 1, ...(done ? { flash: done } : {}) }));
  });

  server.post('/contacts/:email/unbounce', async (req, reply) => {
    const { email: address } = parse(contactParams, req.params, 'path');
    const body = parse(z.object({ reason: z.string().max(1000).optional(), operator: z.string().max(100).optional() }), req.body, 'form');
    const form = { reason: body.reason ?? '', operator: body.operator ?? '' };
    let error: string | null = null;
    if (!form.reason.trim()) error = 'A reason is required to unbounce a contact.';
    else if (!form.operator.trim()) error = 'Your name (operator) is required to unbounce a contact.';
    else {
      try {
        await app.contacts.unbounce(address, form.reason, form.operator);
        return reply.redirect(`${path('contacts', address)}?unbounced=1`, 303);
      } catch (err) {
        if (!(err instanceof OperatorError)) throw err;
        if (err.code === 'not_found') throw new HttpError(404, 'not_found', err.message);
        error = err.code === 'not_bounced' ? `Not unbounced: ${err.message}.` : err.message;
      }
    }
    const view = await showContact(address, 1);
    return sendPage(reply, contactPage(view, { historyPage: 1, form: { ...form, error } }), error.startsWith('Not unbounced') ? 409 : 400);
  });

  server.get('/suppressions', async (req, reply) => {
    const q = parse(z.object({ q: z.string().max(320).optional(), after: cursor.optional() }), req.query, 'query');
    const search = q.q?.trim() ?? '';
    const query = { search: search || null };
    const [page, total] = await Promise.all([app.suppressions.list({ ...query, after: q.after ?? null }, PER_PAGE), app.suppressions.count(query)]);
    return sendPage(reply, suppressionsPage({ items: page.items, total, query: search, next: page.next ? encodeCursor(page.next) : null, first: !q.after }));
  });
}
