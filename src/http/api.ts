import type { FastifyInstance } from 'fastify';
import type { App } from '../app.js';
import { encodeCursor, parse, HttpError, automationBody, automationId, bouncesQuery, campaignBody, campaignId, campaignsQuery, checkBody, contactQuery, deliveryBody, domainsQuery, email, pageQuery, sendBody, suppressionsQuery, unbounceBody } from './input.js';
import { z } from 'zod';

/**
 * The JSON API under `/api`: the reports, contacts and suppression list as the services return
 * them, the send pipeline's calls, and the operator's unbounce. Authentication is checked by
 * the caller (server.ts) before any of these handlers runs.
 */
export function registerApi(server: FastifyInstance, app: App): void {
  const prefix = () => app.config.verp.prefix;
  const idParam = z.object({ id: z.string().min(1).max(200) });
  const emailParam = z.object({ email });
  const notFound = (what: string) => new HttpError(404, 'not_found', `no ${what}`);

  server.get('/api/campaigns', async (req) => {
    const q = parse(campaignsQuery, req.query, 'query');
    const filter = { ...(q.automation !== undefined ? { automationId: q.automation } : {}), ...(q.direct !== undefined ? { direct: q.direct } : {}), ...(q.order ? { order: q.order } : {}) };
    return app.reports.campaigns(filter, { limit: q.limit, offset: q.offset });
  });

  server.get('/api/campaigns/:id', async (req) => {
    const { id } = parse(idParam, req.params, 'path');
    const summary = await app.reports.campaignSummary(id);
    if (!summary) throw notFound(`campaign "${id}"`);
    return summary;
  });

  server.get('/api/campaigns/:id/bounces', async (req) => {
    const { id } = parse(idParam, req.params, 'path');
    const q = parse(bouncesQuery, req.query, 'query');
    if (!(await app.reports.campaignSummary(id))) throw notFound(`campaign "${id}"`);
    return app.reports.bouncedContacts(id, { sort: q.sort, direction: q.direction, limit: q.limit, offset: q.offset });
  });

  server.put('/api/campaigns/:id', async (req) => {
    const { id } = parse(z.object({ id: campaignId(prefix) }), req.params, 'path');
    const body = parse(campaignBody, req.body, 'body');
    await app.pipeline.registerCampaign({ id, ...body });
    return app.reports.campaignSummary(id);
  });

  server.get('/api/automations', async (req) => {
    const q = parse(pageQuery, req.query, 'query');
    return app.reports.automations({ limit: q.limit, offset: q.offset });
  });

  server.get('/api/automations/:id', async (req) => {
    const { id } = parse(idParam, req.params, 'path');
    const report = await app.reports.automation(id);
    if (!report) throw notFound(`automation "${id}"`);
    return report;
  });

  server.put('/api/automations/:id', async (req) => {
    const { id } = parse(z.object({ id: automationId }), req.params, 'path');
    const body = parse(automationBody, req.body, 'body');
    await app.pipeline.registerAutomation({ id, ...body });
    return (await app.reports.automation(id))!.automation;
  });

  server.get('/api/domains', async (req) => {
    const q = parse(domainsQuery, req.query, 'query');
    return app.reports.domains({ since: q.since ?? null, ...(q.minSent !== undefined ? { minSent: q.minSent } : {}), ...(q.sort ? { sort: q.sort } : {}) }, { limit: q.limit, offset: q.offset });
  });

  server.get('/api/contacts/:email', async (req) => {
    const { email: address } = parse(emailParam, req.params, 'path');
    const q = parse(contactQuery, req.query, 'query');
    const view = await app.contacts.show(address, { history: { limit: q.historyLimit, offset: q.historyOffset }, events: { limit: q.eventsLimit, offset: q.eventsOffset } });
    if (!view) throw notFound(`contact ${address}`);
    return view;
  });

  server.post('/api/contacts/:email/unbounce', async (req) => {
    const { email: address } = parse(emailParam, req.params, 'path');
    const body = parse(unbounceBody, req.body, 'body');
    return app.contacts.unbounce(address, body.reason, body.operator);
  });

  server.get('/api/suppressions', async (req) => {
    const q = parse(suppressionsQuery, req.query, 'query');
    const query = { since: q.since ?? null, search: q.search?.trim() || null };
    const [page, total] = await Promise.all([app.suppressions.list({ ...query, after: q.after ?? null }, q.limit ?? 100), app.suppressions.count(query)]);
    return { items: page.items, total, next: page.next ? encodeCursor(page.next) : null };
  });

  server.get('/api/suppressions/:email', async (req) => {
    const { email: address } = parse(emailParam, req.params, 'path');
    return (await app.suppressions.check([address]))[0];
  });

  server.post('/api/suppressions/check', async (req) => {
    const body = parse(checkBody, req.body, 'body');
    return { items: await app.suppressions.check(body.emails) };
  });

  server.post('/api/sends', async (req) => {
    const one = sendBody(prefix, () => app.config.verp.domains);
    if (Array.isArray(req.body)) {
      const list = parse(z.array(one).min(1, 'at least one send').max(1000, 'at most 1000 sends'), req.body, 'body');
      return app.pipeline.recordSends(list);
    }
    const send = parse(one, req.body, 'body');
    return (await app.pipeline.recordSends([send]))[0];
  });

  server.post('/api/deliveries', async (req) => {
    const body = parse(deliveryBody(prefix), req.body, 'body');
    return app.pipeline.reportDelivery(body);
  });
}
