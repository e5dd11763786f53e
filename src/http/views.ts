import type { ContactView } from '../services/contacts.js';
import type { AutomationReport, AutomationSummary, BouncedContact, BounceSort, CampaignSummary, SortDirection, Totals } from '../services/reports.js';
import type { Page } from '../services/paging.js';
import type { SuppressionRecord } from '../services/suppression.js';
import { html, path, url, type Html } from './html.js';

/**
 * The pages, rendered on the server from the services' plain data. Every value goes through
 * `html`, which escapes it. Dates are shown in UTC.
 */

export type Section = 'campaigns' | 'automations' | 'contacts' | 'suppressions';

const SECTIONS: ReadonlyArray<[Section, string, string]> = [
  ['campaigns', '/campaigns', 'Campaigns'],
  ['automations', '/automations', 'Automations'],
  ['contacts', '/contacts', 'Contacts'],
  ['suppressions', '/suppressions', 'Suppressions'],
];

export function layout(o: { title: string; section?: Section; crumbs?: Html; body: Html; signedIn?: boolean }): string {
  const nav = o.signedIn === false
    ? html``
    : html`<nav>${SECTIONS.map(([key, href, label]) => html`<a href="${href}"${o.section === key ? html` aria-current="page"` : html``}>${label}</a>`)}</nav>
      <form method="post" action="/logout"><button type="submit">Sign out</button></form>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · rebond</title>
<link rel="stylesheet" href="/static/rebond.css">
</head>
<body>
<header class="top"><a class="brand" href="/campaigns">rebond</a>${nav}</header>
<main>
${o.crumbs ? html`<div class="crumbs">${o.crumbs}</div>` : ''}
${o.body}
</main>
</body>
</html>
`.value;
}

/** `2026-11-11 10:00` (UTC) in a <time> element. */
function when(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">-</span>`;
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, '')}</time>`;
}

export function percent(rate: number | null): string {
  return rate === null ? '-' : `${rate.toFixed(2)} %`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
const n = (value: number) => value.toLocaleString('en');

function typeBadge(type: string | null): Html {
  return type ? html`<span class="badge ${type}">${type}</span>` : html`<span class="muted">-</span>`;
}

function stateBadge(state: string): Html {
  return html`<span class="badge ${state}">${state}</span>`;
}

/** "Showing 51–100 of 120", with previous and next links built by `link(page)`. */
function pager(page: { total: number; limit: number; offset: number; shown: number }, link: (pageNumber: number) => string): Html {
  if (page.total === 0) return html``;
  const current = Math.floor(page.offset / page.limit) + 1;
  const pages = Math.max(1, Math.ceil(page.total / page.limit));
  const from = page.shown === 0 ? 0 : page.offset + 1;
  return html`<div class="pager" data-testid="pager">
    <span>Showing ${n(from)}–${n(page.offset + page.shown)} of ${n(page.total)}</span>
    ${current > 1 ? html`<a rel="prev" href="${link(current - 1)}">‹ Previous</a>` : ''}
    ${pages > 1 ? html`<span>Page ${current} of ${pages}</span>` : ''}
    ${current < pages ? html`<a rel="next" href="${link(current + 1)}">Next ›</a>` : ''}
  </div>`;
}

function campaignCrumbs(c: CampaignSummary, automationName: string | null, tail?: Html): Html {
  const trail = c.automationId
    ? html`<a href="/automations">Automations</a> › <a href="${path('automations', c.automationId)}">${automationName ?? c.automationId}</a> › `
    : html`<a href="/campaigns">Campaigns</a> › `;
  return tail ? html`${trail}<a href="${path('campaigns', c.id)}">${c.name ?? c.id}</a> › ${tail}` : html`${trail}${c.name ?? c.id}`;
}

/** The seed's summary box: contacts sent to, the bounce-rate tile (hover: count; click: list), hard, soft... */
function summaryTiles(t: Totals, bouncesHref: string | null): Html {
  const rate = html`<span class="label">Bounces</span><span class="value" data-testid="bounce-rate-value">${percent(t.bounceRate)}</span>
    <span class="tip" role="tooltip" id="bounced-count" data-testid="bounced-count">${plural(t.bounced, 'bounced contact')}</span>`;
  return html`<div class="tiles">
    <div class="tile"><span class="label">Contacts sent to</span><span class="value" data-testid="sent-to">${n(t.sentTo)}</span></div>
    ${bouncesHref
      ? html`<a class="tile rate" href="${bouncesHref}" aria-describedby="bounced-count" data-testid="bounce-rate">${rate}</a>`
      : html`<div class="tile">${rate}</div>`}
    <div class="tile"><span class="label">Hard bounces</span><span class="value" data-testid="hard">${n(t.hard)}</span></div>
    <div class="tile"><span class="label">Soft bounces</span><span class="value" data-testid="soft">${n(t.soft)}</span></div>
    <div class="tile"><span class="label">Delays (not counted)</span><span class="value" data-testid="delayed">${n(t.delayed)}</span></div>
    <div class="tile"><span class="label">Complaints</span><span class="value" data-testid="complained">${n(t.complained)}</span></div>
  </div>`;
}

export function campaignPage(c: CampaignSummary, automationName: string | null): string {
  const bounces = path('campaigns', c.id, 'bounces');
  return layout({
    title: `Campaign ${c.name ?? c.id}`,
    section: c.automationId ? 'automations' : 'campaigns',
    crumbs: campaignCrumbs(c, automationName),
    body: html`<h1>${c.name ?? c.id}</h1>
    <p class="sub">Campaign <code>${c.id}</code> · ${c.automationId ? html`automation <a href="${path('automations', c.automationId)}">${automationName ?? c.automationId}</a>` : 'direct campaign'} · created ${when(c.createdAt)} UTC</p>
    <section class="card" aria-labelledby="summary-title">
      <h2 id="summary-title" class="first">Summary</h2>
      ${summaryTiles(c, bounces)}
      <dl class="facts">
        <dt>Contacts with a recorded send</dt><dd>${n(c.recordedSends)}</dd>
        <dt>Bounce records</dt><dd>${n(c.bounceRecords)}</dd>
        <dt>Delivery notices</dt><dd>${n(c.delivered)}</dd>
        <dt>Records for unknown contacts</dt><dd>${n(c.unknownContactRecords)} <span class="muted">(not in the rate)</span></dd>
      </dl>
    </section>
    <p><a href="${bounces}">See the ${plural(c.bounced, 'bounced contact')} with date, code, type and description ›</a></p>`,
  });
}

export interface BounceListState {
  readonly sort: BounceSort;
  readonly direction: SortDirection;
}

export function bouncesPage(c: CampaignSummary, automationName: string | null, page: Page<BouncedContact>, state: BounceListState): string {
  const base = path('campaigns', c.id, 'bounces');
  const link = (p: number, sort = state.sort, direction = state.direction) => url(base, { sort: sort === 'date' ? null : sort, dir: direction === 'asc' ? null : direction, page: p === 1 ? null : p });
  const header = (column: BounceSort, label: string) => {
    const active = state.sort === column;
    const next: SortDirection = active && state.direction === 'asc' ? 'desc' : 'asc';
    const arrow = active ? (state.direction === 'asc' ? ' ▲' : ' ▼') : '';
    return html`<th scope="col" aria-sort="${active ? (state.direction === 'asc' ? 'ascending' : 'descending') : 'none'}"><a href="${link(1, column, next)}" data-sort="${column}">${label}${arrow}</a></th>`;
  };
  return layout({
    title: `Bounces of ${c.name ?? c.id}`,
    section: c.automationId ? 'automations' : 'campaigns',
    crumbs: campaignCrumbs(c, automationName, html`Bounces`),
    body: html`<h1>Bounced contacts: ${c.name ?? c.id}</h1>
    <p class="sub" data-testid="bounces-summary">${plural(page.total, 'bounced contact')} · bounce rate ${percent(c.bounceRate)} of ${plural(c.sentTo, 'contact')} sent to · ${n(c.hard)} hard, ${n(c.soft)} soft</p>
    ${page.total === 0
      ? html`<p class="card">No contact bounced on this campaign.</p>`
      : html`<table data-testid="bounces">
      <thead><tr>${header('date', 'Date (UTC)')}${header('email', 'Contact')}${header('code', 'Code')}${header('type', 'Type')}<th scope="col">Description</th><th scope="col" class="num">Bounces</th><th scope="col">State now</th></tr></thead>
      <tbody>${page.items.map(
        (b) => html`<tr>
        <td>${when(b.date)}</td>
        <td><a href="${path('contacts', b.email)}">${b.email}</a></td>
        <td><code>${b.code ?? '-'}</code></td>
        <td>${typeBadge(b.type)}</td>
        <td class="desc"${b.diagnostic ? html` title="${b.diagnostic}"` : ''}>${b.description ?? '-'}</td>
        <td class="num">${n(b.bounces)}</td>
        <td>${stateBadge(b.state)}</td>
      </tr>`,
      )}</tbody></table>
    ${pager({ ...page, shown: page.items.length }, (p) => link(p))}`}`,
  });
}

function summaryRows(list: readonly CampaignSummary[], withAutomation: boolean, names: ReadonlyMap<string, string | null> = new Map()): Html {
  return html`<table data-testid="campaigns">
    <thead><tr><th scope="col">Campaign</th>${withAutomation ? html`<th scope="col">Automation</th>` : ''}<th scope="col">Created (UTC)</th><th scope="col" class="num">Sent to</th><th scope="col" class="num">Bounced</th><th scope="col" class="num">Bounce rate</th><th scope="col" class="num">Hard</th><th scope="col" class="num">Soft</th><th scope="col" class="num">Delays</th><th scope="col" class="num">Complaints</th></tr></thead>
    <tbody>${list.map(
      (c) => html`<tr>
      <td><a href="${path('campaigns', c.id)}">${c.name ?? c.id}</a>${c.name ? html` <span class="muted">${c.id}</span>` : ''}</td>
      ${withAutomation ? html`<td>${c.automationId ? html`<a href="${path('automations', c.automationId)}">${names.get(c.automationId) ?? c.automationId}</a>` : html`<span class="muted">direct</span>`}</td>` : ''}
      <td>${when(c.createdAt)}</td>
      <td class="num">${n(c.sentTo)}</td>
      <td class="num">${n(c.bounced)}</td>
      <td class="num"><a href="${path('campaigns', c.id, 'bounces')}">${percent(c.bounceRate)}</a></td>
      <td class="num">${n(c.hard)}</td>
      <td class="num">${n(c.soft)}</td>
      <td class="num">${n(c.delayed)}</td>
      <td class="num">${n(c.complained)}</td>
    </tr>`,
    )}</tbody></table>`;
}

export type CampaignKind = 'all' | 'direct' | 'automation';

export function campaignsPage(page: Page<CampaignSummary>, kind: CampaignKind, automationNames: ReadonlyMap<string, string | null>): string {
  const link = (p: number, k: CampaignKind = kind) => url('/campaigns', { kind: k === 'all' ? null : k, page: p === 1 ? null : p });
  const tab = (k: CampaignKind, label: string) => html`<a href="${link(1, k)}"${kind === k ? html` aria-current="page"` : ''}>${label}</a>`;
  return layout({
    title: 'Campaigns',
    section: 'campaigns',
    body: html`<h1>Campaigns</h1>
    <p class="sub">Each campaign with its summary, newest first. Click a bounce rate for the bounced contacts.</p>
    <div class="tabs">${tab('all', 'All')}${tab('direct', 'Direct')}${tab('automation', 'In an automation')}</div>
    ${page.total === 0 ? html`<p class="card">No campaign yet.</p>` : html`${summaryRows(page.items, true, automationNames)}${pager({ ...page, shown: page.items.length }, (p) => link(p))}`}`,
  });
}

export function automationsPage(page: Page<AutomationSummary>): string {
  return layout({
    title: 'Automations',
    section: 'automations',
    body: html`<h1>Automations</h1>
    <p class="sub">Figures are the sums of each automation's campaigns.</p>
    ${page.total === 0
      ? html`<p class="card">No automation yet.</p>`
      : html`<table data-testid="automations">
      <thead><tr><th scope="col">Automation</th><th scope="col">Campaigns</th><th scope="col" class="num">Sent to</th><th scope="col" class="num">Bounced</th><th scope="col" class="num">Bounce rate</th><th scope="col" class="num">Hard</th><th scope="col" class="num">Soft</th><th scope="col" class="num">Delays</th><th scope="col" class="num">Complaints</th></tr></thead>
      <tbody>${page.items.map(
        (a) => html`<tr>
        <td><a href="${path('automations', a.id)}">${a.name ?? a.id}</a>${a.name ? html` <span class="muted">${a.id}</span>` : ''}</td>
        <td><a href="${path('automations', a.id)}">Contains ${plural(a.campaigns, 'campaign')}</a></td>
        <td class="num">${n(a.sentTo)}</td><td class="num">${n(a.bounced)}</td><td class="num">${percent(a.bounceRate)}</td>
        <td class="num">${n(a.hard)}</td><td class="num">${n(a.soft)}</td><td class="num">${n(a.delayed)}</td><td class="num">${n(a.complained)}</td>
      </tr>`,
      )}</tbody></table>
      ${pager({ ...page, shown: page.items.length }, (p) => url('/automations', { page: p === 1 ? null : p }))}`}`,
  });
}

export function automationPage(r: AutomationReport): string {
  const a = r.automation;
  return layout({
    title: `Automation ${a.name ?? a.id}`,
    section: 'automations',
    crumbs: html`<a href="/automations">Automations</a> › ${a.name ?? a.id}`,
    body: html`<h1>${a.name ?? a.id}</h1>
    <p class="sub">Automation <code>${a.id}</code> · ${plural(a.campaigns, 'campaign')} · overview of all its campaigns</p>
    <section class="card" aria-label="Overview">${summaryTiles(a, null)}</section>
    <h2>Campaigns</h2>
    ${r.campaigns.length === 0 ? html`<p class="card">This automation has no campaign yet.</p>` : summaryRows(r.campaigns, false)}`,
  });
}

export function contactSearchPage(query: string, notFound: boolean): string {
  return layout({
    title: 'Contacts',
    section: 'contacts',
    body: html`<h1>Contacts</h1>
    <form class="inline" method="get" action="/contacts" role="search">
      <input type="email" name="email" value="${query}" placeholder="alice@example.org" aria-label="Email address" required autofocus>
      <button type="submit">Look up</button>
    </form>
    ${notFound ? html`<p class="flash warn" role="status">No contact ${query}.</p>` : html`<p class="muted">Look a contact up by email address: its state, bounce history and audit trail.</p>`}`,
  });
}

export interface UnbounceFormState {
  readonly reason?: string;
  readonly operator?: string;
  readonly error?: string;
}

export function contactPage(view: ContactView, o: { flash?: Html; form?: UnbounceFormState; historyPage: number } = { historyPage: 1 }): string {
  const c = view.contact;
  const self = path('contacts', c.email);
  const form = o.form ?? {};
  const history = view.history;
  return layout({
    title: `Contact ${c.email}`,
    section: 'contacts',
    crumbs: html`<a href="/contacts">Contacts</a> › ${c.email}`,
    body: html`<h1>${c.email}</h1>
    ${o.flash ?? ''}
    <section class="card" aria-label="Contact">
      <dl class="facts first" data-testid="contact-facts">
        <dt>State</dt><dd data-testid="state">${stateBadge(c.state)}</dd>
        <dt>Bounced since</dt><dd>${c.bouncedAt ? html`${when(c.bouncedAt)} UTC (${c.bouncedReason})` : html`<span class="muted">-</span>`}</dd>
        <dt>Suppressed</dt><dd data-testid="suppressed">${view.suppressed ? html`yes: ${view.suppressions.map((s) => s.reason).join(', ')}` : 'no'}</dd>
        <dt>Soft bounces in a row</dt><dd>${view.softStreak} of ${view.softThreshold}${c.softCampaigns.length > 0 ? ` (${c.softCampaigns.join(', ')})` : ''}</dd>
        <dt>Complained</dt><dd>${c.complained ? 'yes' : 'no'}</dd>
        <dt>Campaigns sent</dt><dd>${n(view.sends)}</dd>
        <dt>Known since</dt><dd>${when(c.createdAt)} UTC</dd>
      </dl>
    </section>
    ${c.state === 'bounced'
      ? html`<h2>Unbounce</h2>
    <form class="card stack" method="post" action="${self}/unbounce" data-testid="unbounce-form">
      <p class="first">Makes the contact sendable again and removes its bounce suppression${view.suppressions.some((s) => s.reason === 'complaint') ? ' (its complaint suppression stays)' : ''}. Recorded in the audit trail with your name and reason.</p>
      ${form.error ? html`<p class="flash error" role="alert">${form.error}</p>` : ''}
      <label for="reason">Reason</label>
      <textarea id="reason" name="reason" required maxlength="1000">${form.reason ?? ''}</textarea>
      <label for="operator">Operator</label>
      <input type="text" id="operator" name="operator" required maxlength="100" value="${form.operator ?? ''}" autocomplete="name">
      <p><button type="submit">Unbounce ${c.email}</button></p>
    </form>`
      : ''}
    ${view.suppressions.length > 0
      ? html`<h2>Suppressions</h2>
    <table data-testid="suppressions"><thead><tr><th scope="col">Since (UTC)</th><th scope="col">Reason</th><th scope="col">Campaign</th><th scope="col">Code</th></tr></thead>
    <tbody>${view.suppressions.map((s) => html`<tr><td>${when(s.createdAt)}</td><td>${s.reason}</td><td>${s.campaignId ? html`<a href="${path('campaigns', s.campaignId)}">${s.campaignId}</a>` : '-'}</td><td><code>${s.statusCode ?? '-'}</code></td></tr>`)}</tbody></table>`
      : ''}
    <h2>History <span class="muted">(${plural(history.total, 'record')}, newest first)</span></h2>
    ${history.total === 0
      ? html`<p class="card">No bounce, delay, delivery notice or complaint recorded.</p>`
      : html`<table data-testid="history"><thead><tr><th scope="col">Date (UTC)</th><th scope="col">Campaign</th><th scope="col">Kind</th><th scope="col">Code</th><th scope="col">Type</th><th scope="col">Description</th><th scope="col">Counted</th></tr></thead>
    <tbody>${history.items.map(
      (r) => html`<tr><td>${when(r.receivedAt)}</td><td>${r.campaignId ? html`<a href="${path('campaigns', r.campaignId)}">${r.campaignId}</a>` : '-'}</td><td>${r.kind}</td><td><code>${r.statusCode ?? '-'}</code></td><td>${typeBadge(r.type)}</td><td class="desc"${r.diagnostic ? html` title="${r.diagnostic}"` : ''}>${r.description ?? '-'}</td><td>${r.counted ? 'yes' : 'no'}</td></tr>`,
    )}</tbody></table>
    ${pager({ ...history, shown: history.items.length }, (p) => url(self, { history: p === 1 ? null : p }))}`}
    <h2>Audit trail <span class="muted">(${plural(view.events.total, 'event')}, oldest first)</span></h2>
    ${view.events.total === 0
      ? html`<p class="card">No change of state yet.</p>`
      : html`<table data-testid="audit"><thead><tr><th scope="col">At (UTC)</th><th scope="col">Event</th><th scope="col">From</th><th scope="col">To</th><th scope="col">By</th><th scope="col">Detail</th></tr></thead>
    <tbody>${view.events.items.map((e) => html`<tr><td>${when(e.at)}</td><td>${e.event}</td><td>${e.fromState}</td><td>${e.toState}</td><td>${e.actor}</td><td class="desc">${e.detail}</td></tr>`)}</tbody></table>
    ${view.events.items.length < view.events.total ? html`<p class="muted">The first ${view.events.items.length} events are shown; the API lists them all.</p>` : ''}`}`,
  });
}

export function suppressionsPage(o: { items: SuppressionRecord[]; total: number; query: string; next: string | null; first: boolean }): string {
  return layout({
    title: 'Suppressions',
    section: 'suppressions',
    body: html`<h1>Suppression list</h1>
    <p class="sub">Contacts the send pipeline must not mail, one row per contact and reason, oldest first.</p>
    <form class="inline" method="get" action="/suppressions" role="search">
      <input type="search" name="q" value="${o.query}" placeholder="part of an address, e.g. @example.org" aria-label="Search addresses">
      <button type="submit">Search</button>
      ${o.query ? html`<a href="/suppressions">Clear</a>` : ''}
    </form>
    <p data-testid="suppressions-count">${plural(o.total, 'suppression')}${o.query ? html` matching “${o.query}”` : ''}</p>
    ${o.items.length === 0
      ? html``
      : html`<table data-testid="suppressions"><thead><tr><th scope="col">Email</th><th scope="col">Reason</th><th scope="col">Since (UTC)</th><th scope="col">Campaign</th><th scope="col">Code</th></tr></thead>
    <tbody>${o.items.map((s) => html`<tr><td><a href="${path('contacts', s.email)}">${s.email}</a></td><td>${s.reason}</td><td>${when(s.createdAt)}</td><td>${s.campaignId ? html`<a href="${path('campaigns', s.campaignId)}">${s.campaignId}</a>` : '-'}</td><td><code>${s.statusCode ?? '-'}</code></td></tr>`)}</tbody></table>`}
    <div class="pager">
      ${o.first ? '' : html`<a href="${url('/suppressions', { q: o.query || null })}">« First page</a>`}
      ${o.next ? html`<a rel="next" href="${url('/suppressions', { q: o.query || null, after: o.next })}">Next ›</a>` : ''}
    </div>`,
  });
}

export function loginPage(o: { next: string; error?: string }): string {
  return layout({
    title: 'Sign in',
    signedIn: false,
    body: html`<div class="login card">
      <h1>Sign in</h1>
      <p class="muted">Enter one of the HTTP tokens of this receiver (<code>http.tokens</code>).</p>
      ${o.error ? html`<p class="flash error" role="alert">${o.error}</p>` : ''}
      <form class="stack" method="post" action="/login">
        <input type="hidden" name="next" value="${o.next}">
        <label for="token">Token</label>
        <input type="password" id="token" name="token" required autocomplete="current-password" autofocus>
        <p><button type="submit">Sign in</button></p>
      </form>
    </div>`,
  });
}

export function errorPage(status: number, message: string, signedIn: boolean): string {
  const title = status === 404 ? 'Not found' : status === 400 ? 'Bad request' : status === 503 ? 'Database unavailable' : status >= 500 ? 'Server error' : 'Error';
  return layout({ title, signedIn, body: html`<h1>${title}</h1><p class="flash ${status >= 500 ? 'error' : 'warn'}">${message}</p><p><a href="/campaigns">Back to the campaigns</a></p>` });
}

export function flash(kind: 'ok' | 'warn' | 'error', content: Html | string): Html {
  return html`<p class="flash ${kind}" role="status">${content}</p>`;
}
