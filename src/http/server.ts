import type { AddressInfo } from 'node:net';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { errorText } from '../logger.js';
import { isUnavailable } from '../services/committer.js';
import { OperatorError } from '../services/contacts.js';
import { registerApi } from './api.js';
import { bearer, checkSession, clearedSessionCookie, cookie, makeSession, matchToken, SESSION_COOKIE, sessionCookie } from './auth.js';
import { HttpError, signInTarget } from './input.js';
import { registerPages } from './pages.js';
import { STYLESHEET } from './style.js';
import { errorPage, loginPage } from './views.js';

/**
 * The HTTP server: reports pages, the JSON API, `/metrics` and `/healthz`, on a port of its own
 * (`http.host`, `http.port`). Fastify: routing, body parsing with size limits, and a graceful
 * close that lets requests in flight finish.
 *
 * Every page and API call needs a configured token (`http.tokens`): `Authorization: Bearer` for
 * the API (and the pages), or the session cookie the sign-in form sets for the pages. `/healthz`
 * is open (it tells up or down, nothing more); `/metrics` needs a token, or the metrics-only
 * token, unless `http.metricsPublic`. Tokens are compared in constant time and never logged:
 * log lines carry the method, the path without its query, the status and the time.
 */

export interface HttpServer {
  listen(): Promise<AddressInfo>;
  /** Stops accepting requests, lets those in flight finish, closes idle connections. */
  close(): Promise<void>;
}

const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const PUBLIC_PATHS = new Set(['/login', '/healthz', '/favicon.ico', '/static/rebond.css']);

const pathOf = (rawUrl: string) => rawUrl.split('?')[0] ?? '/';
const isApi = (p: string) => p === '/api' || p.startsWith('/api/');
function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // "null" (a sandboxed or privacy-sensitive context) or garbage
  }
}

/** Headers every answer carries, pages, API, redirects and errors alike. */
function securityHeaders(reply: FastifyReply): void {
  reply.header('X-Content-Type-Options', 'nosniff');
  // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on our own forms.
  reply.header('Referrer-Policy', 'same-origin');
  reply.header('X-Frame-Options', 'DENY');
  reply.header('Content-Security-Policy', CSP);
  if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
}

/** What an error answer says: a plain sentence per status, never the library's own text. */
const PLAIN: Record<number, [string, string]> = {
  400: ['bad_request', 'the request is malformed'],
  404: ['not_found', 'there is no such page'],
  405: ['bad_request', 'that method is not allowed here'],
  408: ['bad_request', 'the request took too long'],
  413: ['too_large', 'the request body is too large'],
  414: ['bad_request', 'the address is too long'],
  415: ['unsupported_media_type', 'the API takes JSON and the pages url-encoded forms, nothing else'],
};

export async function createHttpServer(app: App): Promise<HttpServer> {
  const log = app.logger.child('http');
  app.metrics.collectProcessMetrics();
  const server = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    requestTimeout: 60_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Errors Fastify meets before routing (bad URL encoding, overlong parameter) get the same answer as any other.
    frameworkErrors: (err, req, raw) => {
      const reply = raw as unknown as FastifyReply;
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      const [code, message] = PLAIN[status] ?? PLAIN[400]!;
      securityHeaders(reply);
      if (isApi(pathOf(req.url))) void reply.code(status).type('application/json; charset=utf-8').send({ error: code, message });
      else void reply.code(status).type('text/html; charset=utf-8').send(errorPage(status, message, true));
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
  });
  await server.register(formbody, { bodyLimit: 64 * 1024 });
  // The API takes JSON, the pages' forms url-encoded bodies: nothing else.
  server.removeContentTypeParser('text/plain');

  const tokens = () => app.config.http.tokens;
  const secure = () => app.config.http.secureCookies;
  const signedIn = (req: FastifyRequest) => matchToken(bearer(req.headers.authorization), tokens()) >= 0 || checkSession(cookie(req.headers.cookie, SESSION_COOKIE), tokens());
  const deny = (req: FastifyRequest, reason: string) => log.log('info', 'HTTP_UNAUTHORIZED', 'request without a valid token refused', { method: req.method, path: pathOf(req.url), remote: req.ip, reason });

  server.addHook('onRequest', async (req, reply) => {
    (req as { started?: bigint }).started = process.hrtime.bigint();
    const p = pathOf(req.url);
    if (PUBLIC_PATHS.has(p)) return;
    const header = req.headers.authorization;
    if (isApi(p)) {
      if (matchToken(bearer(header), tokens()) >= 0) return;
      deny(req, header ? 'bad token' : 'no token');
      return reply.code(401).header('WWW-Authenticate', 'Bearer realm="rebond"').send({ error: 'unauthorized', message: 'a valid token is required: Authorization: Bearer <token>' });
    }
    if (p === '/metrics') {
      const http = app.config.http;
      const given = bearer(header);
      if (http.metricsPublic || matchToken(given, tokens()) >= 0 || (http.metricsToken !== undefined && matchToken(given, [http.metricsToken]) >= 0)) return;
      deny(req, header ? 'bad token' : 'no token');
      return reply.code(401).header('WWW-Authenticate', 'Bearer realm="rebond"').type('text/plain').send('a valid token is required: Authorization: Bearer <token>\n');
    }
    if (signedIn(req)) {
      // Pages change state only by POST with the session cookie: refuse a cross-site one.
      const origin = req.headers.origin;
      if (req.method === 'POST' && origin !== undefined && !sameHost(origin, req.headers.host)) {
        return reply.code(403).type('text/html; charset=utf-8').send(errorPage(403, 'This form was sent from another site.', true));
      }
      return;
    }
    if (header) deny(req, 'bad token');
    if (req.method === 'GET' || req.method === 'HEAD') return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
    return reply.code(401).type('text/html; charset=utf-8').send(loginPage({ next: '/campaigns', error: 'Your session has ended: sign in again.' }));
  });

  server.addHook('onSend', async (_req, reply, payload) => {
    securityHeaders(reply);
    return payload;
  });

  server.addHook('onResponse', async (req, reply) => {
    const started = (req as { started?: bigint }).started;
    const ms = started ? Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10 : null;
    app.metrics.httpRequest(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode);
    log.log('debug', 'HTTP_REQUEST', `${req.method} ${pathOf(req.url)} ${reply.statusCode}`, { method: req.method, path: pathOf(req.url), status: reply.statusCode, ms, remote: req.ip });
  });

  /** Every error answer: JSON for the API and /metrics, a page otherwise; plain text, the headers. */
  const answerError = (req: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string, issues: ReadonlyArray<{ path: string; message: string }> = []) => {
    securityHeaders(reply);
    if (isApi(pathOf(req.url)) || pathOf(req.url) === '/metrics') {
      return reply.code(status).type('application/json; charset=utf-8').send({ error: code, message, ...(issues.length > 0 ? { issues } : {}) });
    }
    return reply.code(status).type('text/html; charset=utf-8').send(errorPage(status, message, true));
  };

  server.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let status = 500;
    let code = 'internal';
    let message = 'internal error';
    let issues: ReadonlyArray<{ path: string; message: string }> = [];
    if (err instanceof HttpError) {
      ({ status, code, message, issues } = err);
    } else if (err instanceof OperatorError) {
      status = err.code === 'invalid' ? 400 : err.code === 'not_found' ? 404 : 409;
      code = err.code === 'invalid' ? 'bad_request' : err.code;
      message = err.message;
    } else if (typeof (err as FastifyError).statusCode === 'number' && (err as FastifyError).statusCode! >= 400 && (err as FastifyError).statusCode! < 500) {
      // Fastify's own: malformed JSON, bad URL encoding, unsupported content type, body too large.
      status = (err as FastifyError).statusCode!;
      [code, message] = PLAIN[status] ?? PLAIN[400]!;
      const fastifyCode = (err as FastifyError).code;
      if (fastifyCode === 'FST_ERR_CTP_INVALID_JSON_BODY' || fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') message = 'the body is not valid JSON';
    } else if (isUnavailable(err)) {
      status = 503;
      code = 'unavailable';
      message = 'the database is unavailable; try again later';
      log.log('warn', 'HTTP_DB_UNAVAILABLE', 'a request found the database unavailable', { method: req.method, path: pathOf(req.url), error: errorText(err) });
    } else {
      log.log('error', 'HTTP_ERROR', 'unexpected error while answering a request', { method: req.method, path: pathOf(req.url), error: errorText(err) });
    }
    return answerError(req, reply, status, code, message, issues);
  });

  server.setNotFoundHandler((req, reply) => {
    if (isApi(pathOf(req.url))) return reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${pathOf(req.url)}` });
    return reply.code(404).type('text/html; charset=utf-8').send(errorPage(404, 'There is no such page.', true));
  });

  server.get('/static/rebond.css', async (_req, reply) => reply.header('Cache-Control', 'public, max-age=3600').type('text/css; charset=utf-8').send(STYLESHEET));
  server.get('/favicon.ico', async (_req, reply) => reply.header('Cache-Control', 'public, max-age=86400').code(204).send());

  let healthy = true;
  server.get('/healthz', async (_req, reply) => {
    const h = await app.health.check();
    if (h.ok !== healthy) {
      healthy = h.ok;
      if (h.ok) log.log('info', 'HEALTH_OK', 'the database answers again', { ms: h.ms });
      else log.log('warn', 'HEALTH_FAILED', 'the database does not answer: /healthz answers 503', { error: h.error ?? null, ms: h.ms });
    }
    return reply.code(h.ok ? 200 : 503).send({ status: h.ok ? 'ok' : 'unavailable', database: h.database, commits: h.commits, ms: h.ms });
  });

  server.get('/metrics', async (_req, reply) => reply.type(app.metrics.contentType).send(await app.metrics.render()));

  server.get('/login', async (req, reply) => {
    const next = signInTarget((req.query as Record<string, unknown>)['next']);
    if (signedIn(req)) return reply.redirect(next, 303);
    return reply.type('text/html; charset=utf-8').send(loginPage({ next }));
  });

  server.post('/login', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = signInTarget(body['next']);
    const index = matchToken(typeof body['token'] === 'string' ? body['token'].trim() : null, tokens());
    if (index < 0) {
      log.log('info', 'HTTP_LOGIN_FAILED', 'sign-in with a token that is not configured', { remote: req.ip });
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage({ next, error: 'That token is not valid here.' }));
    }
    const hours = app.config.http.sessionHours;
    const value = makeSession(tokens()[index]!, Date.now() + hours * 3_600_000);
    log.log('info', 'HTTP_LOGIN', 'signed in to the pages', { remote: req.ip });
    return reply.header('Set-Cookie', sessionCookie(value, { maxAgeSeconds: hours * 3600, secure: secure() })).redirect(next, 303);
  });

  server.post('/logout', async (_req, reply: FastifyReply) => reply.header('Set-Cookie', clearedSessionCookie(secure())).redirect('/login', 303));

  registerApi(server, app);
  registerPages(server, app);

  return {
    async listen() {
      const { host, port } = app.config.http;
      try {
        await server.listen({ host, port });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new Error(`the HTTP server cannot listen on ${host}:${port} (http.host, http.port): ${e.code ?? e.message}`);
      }
      const address = server.server.address() as AddressInfo;
      log.log('info', 'HTTP_LISTENING', `reports, API and metrics on http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}/`, { host: address.address, port: address.port });
      return address;
    },
    async close() {
      await server.close();
    },
  };
}
