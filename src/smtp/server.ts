import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { SMTPServerDataStream, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { checkAddress, type VerpRefusal, type VerpSettings } from '../domain/verp.js';
import { errorCode, errorText, stackFrames, type Logger } from '../logger.js';
import { silentMetrics, type Metrics, type SmtpMessageResult } from '../metrics.js';
import { parseCopyBytes } from '../dsn/mime.js';
import { TemporaryFailure, type IngestInput, type IngestResult } from '../services/ingest.js';
import { ClientTracker, networkOf } from './guard.js';
import { evictionCandidate, IdleClock } from './idle.js';
import { LogThrottle } from './log-throttle.js';
import { HookedSMTPServer, type Connection, type ConnectionHooks, type Verdict } from './hooks.js';
import { replies, smtpError, type Reply, type ReplyName } from './replies.js';

/**
 * The SMTP listener. A remote server may only deliver to a signed VERP address at one of our
 * bounce domains, or to postmaster@ one of them: the receiver is never a relay. A message is
 * answered 250 only after it and its effects are committed; a database fault is a 451.
 *
 * Abuse limits (each in SmtpSettings): connections in all, per address and per network,
 * commands before MAIL, bad commands, recipients per message, refused recipients per address and
 * window, command line length, header and message size, idle time (see idle.ts: only moving
 * mail counts) and total session time; near full, the longest idle session makes room.
 */

export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  readonly hostname: string;
  readonly banner: string;
  readonly maxMessageBytes: number;
  readonly maxHeaderBytes: number;
  /** Bytes of messages held in memory (being received or stored), all sessions together. */
  readonly maxBufferedBytes: number;
  readonly maxLineLength: number;
  readonly maxRecipients: number;
  readonly maxClients: number;
  /** Connections the kernel queues until they are accepted. */
  readonly listenBacklog: number;
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerNetwork: number;
  readonly networkPrefixV4: number;
  readonly networkPrefixV6: number;
  readonly maxCommandsBeforeMail: number;
  readonly maxBadCommands: number;
  readonly maxRefusedRcptPerIp: number;
  readonly refusedRcptWindowMs: number;
  readonly socketTimeoutMs: number;
  readonly maxSessionMs: number;
  readonly shutdownTimeoutMs: number;
  /** Pause before the greeting, to catch clients that talk first (0: greet at once). */
  readonly greetingDelayMs: number;
  readonly tls?: { readonly key: string; readonly cert: string } | undefined;
}

export interface Ingest {
  ingest(input: IngestInput): Promise<IngestResult>;
}

export interface SmtpListener {
  listen(): Promise<AddressInfo>;
  /**
   * Stops accepting connections and closes idle sessions at once; a session in the middle of
   * a transaction may finish it (its next command is answered 421) for up to
   * `shutdownTimeoutMs`, after which it is closed with 421.
   */
  close(): Promise<void>;
  /** Applies new settings to the running listener (limits, TLS certificate, VERP). */
  update(settings: SmtpSettings, verp: VerpSettings): void;
  /** Open SMTP sessions. */
  readonly sessions: number;
  /** Bytes of messages held in memory now. */
  readonly bufferedBytes: number;
}

const REFUSAL_TEXT: Record<VerpRefusal, ReplyName> = {
  syntax: 'badSyntax',
  'foreign-domain': 'relayDenied',
  'not-verp': 'unknownRecipient',
  'malformed-token': 'unknownRecipient',
  'bad-signature': 'unknownRecipient',
};

/** Replies that say a command was unknown, malformed or out of sequence. */
const BAD_COMMAND_CODES = new Set([500, 501, 502, 503, 504]);
// `RCPT TO:<@relay,@relay:user@domain>`: smtp-server strips the route before onRcptTo.
const SOURCE_ROUTE = /^RCPT\s+TO:\s*<\s*@/i;
const ADMISSION_REFUSALS = {
  'too-many-connections': ['connections-per-ip', 'tooManyFromIp'],
  'too-many-from-network': ['connections-per-network', 'tooManyFromNetwork'],
  'too-many-refusals': ['refused-rcpt-rate', 'tooManyRefusals'],
} as const satisfies Record<string, readonly [string, ReplyName]>;
const HEADER_END_CRLF = Buffer.from('\r\n\r\n');
const HEADER_END_LF = Buffer.from('\n\n');

interface SessionState {
  readonly connection: Connection;
  readonly ip: string;
  admitted: boolean;
  /** Commands since the last accepted MAIL FROM (or since the greeting). */
  commandsBeforeMail: number;
  badCommands: number;
  /** A received message is being stored: the session is not cut while this is true. */
  storing: boolean;
  /** A message is being received (from DATA until it is answered). */
  receiving: boolean;
  clock: IdleClock;
  busy(): boolean;
  /** Closed to make room: not picked again while its connection ends. */
  evicted: boolean;
  timer: NodeJS.Timeout | null;
}

function verdict(name: ReplyName, ...args: Array<string | number>): Verdict {
  const reply = replies[name] as Reply;
  return { code: reply.code, text: reply.text(...args) };
}

export function createSmtpListener(initial: SmtpSettings, initialVerp: VerpSettings, ingest: Ingest, logger: Logger, metrics: Metrics = silentMetrics): SmtpListener {
  const log = logger.child('smtp');
  let settings = initial;
  let verp = initialVerp;
  let tls = readTls(settings.tls);
  let closing: Promise<void> | null = null;
  const tracker = new ClientTracker(settings);
  const sessions = new Map<string, SessionState>();
  /** Bytes of messages in memory now, all sessions together. */
  let buffered = 0;

  const throttle = new LogThrottle();
  /** Logs a line caused by a remote client, at most 20 a minute per kind and network. */
  const remoteLog = (code: string, message: string, ip: string | undefined, fields: Record<string, unknown>) => {
    const d = throttle.admit(`${code} ${ip === undefined ? '' : networkOf(ip)}`, Date.now());
    if (!d.log) return;
    log.log('info', code, message, { ...fields, ...(d.suppressed > 0 ? { suppressed: d.suppressed } : {}), ...(d.throttled ? { throttled: true } : {}) });
  };
  const limit = (state: SessionState | undefined, name: string, fields: Record<string, unknown> = {}) => {
    metrics.smtpLimit(name);
    remoteLog('SMTP_LIMIT', `connection limit reached: ${name}`, state?.ip, { limit: name, remote: state?.ip, session: state?.connection.id, ...fields });
  };
  /** Refuses a recipient: counted, then answered with this reply. */
  const refuseRcpt = (name: ReplyName, reason: string, ...args: Array<string | number>) => {
    const err = smtpError(name, ...args);
    metrics.smtpRecipientRefused(err.responseCode, reason);
    return err;
  };
  /** The final answer to a message, counted. */
  const answered = (code: number, result: SmtpMessageResult) => metrics.smtpMessage(code, result);

  const cut = (state: SessionState) => {
    if (!sessions.has(state.connection.id)) return; // closed meanwhile
    if (state.storing) {
      // The message in hand is answered first; the session ends right after.
      state.timer = setTimeout(() => cut(state), 250);
      state.timer.unref();
      return;
    }
    limit(state, 'session-time', { limitMs: settings.maxSessionMs });
    const v = verdict('sessionTooLong');
    state.connection.send(v.code, v.text, false);
  };
  /** The idle clock ran out: no mail moved for `socketTimeoutMs`. */
  const idle = (state: SessionState) => {
    if (!sessions.has(state.connection.id)) return;
    limit(state, 'idle', { limitMs: settings.socketTimeoutMs });
    const v = verdict('idleTimeout');
    state.connection.send(v.code, v.text, false);
  };

  const hooks: ConnectionHooks = {
    opened(connection) {
      const state: SessionState = {
        connection,
        ip: connection.remoteAddress,
        admitted: false,
        commandsBeforeMail: 0,
        badCommands: 0,
        storing: false,
        receiving: false,
        clock: new IdleClock(() => settings.socketTimeoutMs, () => state.busy(), () => idle(state)),
        busy: () => state.receiving || state.storing,
        evicted: false,
        timer: null,
      };
      state.timer = setTimeout(() => cut(state), settings.maxSessionMs);
      state.timer.unref();
      // Only for a connection that will be admitted: one over its address's or network's limit makes no room.
      const welcome = tracker.check(state.ip, Date.now()) === 'ok';
      const evicted = welcome ? evictionCandidate(sessions.values(), sessions.size + 1, settings.maxClients, settings.socketTimeoutMs) : null;
      sessions.set(connection.id, state);
      metrics.smtpSession();
      if (evicted) {
        evicted.evicted = true;
        limit(evicted, 'near-full-idle', { idleMs: evicted.clock.idleFor(), sessions: sessions.size });
        const v = verdict('idleEvicted');
        evicted.connection.send(v.code, v.text, false);
      }
    },

    command(connection, line) {
      const state = sessions.get(connection.id);
      if (!state) return null;
      const inTransaction = !!connection.session.envelope?.mailFrom;
      if (!inTransaction && ++state.commandsBeforeMail > settings.maxCommandsBeforeMail) {
        limit(state, 'commands-before-mail', { max: settings.maxCommandsBeforeMail });
        return verdict('tooManyCommands');
      }
      if (inTransaction && SOURCE_ROUTE.test(line)) {
        remoteLog('RCPT_REFUSED', 'recipient refused', state.ip, { rcpt: line.slice(0, 200), reason: 'source-route', remote: state.ip, session: connection.id });
        if (tracker.refuse(state.ip, Date.now())) limit(state, 'refused-rcpt-rate', { max: settings.maxRefusedRcptPerIp });
        metrics.smtpRecipientRefused(replies.badSyntax.code, 'source-route');
        return verdict('badSyntax');
      }
      return null;
    },

    reply(connection, code, text) {
      const state = sessions.get(connection.id);
      if (!state) return null;
      if (BAD_COMMAND_CODES.has(code) && ++state.badCommands >= settings.maxBadCommands) {
        limit(state, 'bad-commands', { max: settings.maxBadCommands, last: `${code} ${text}`.slice(0, 200) });
        return verdict('tooManyBadCommands');
      }
      // smtp-server's own disconnections: idle timeout, command line too long, too many
      // clients, early talker, too many unknown commands.
      if (code === 421 && !/^4\.\d\.\d /.test(text)) limit(state, 'library', { reply: text.slice(0, 200) });
      return null;
    },
  };

  const options: SMTPServerOptions = {
    name: settings.hostname,
    banner: settings.banner,
    size: settings.maxMessageBytes,
    maxClients: settings.maxClients,
    socketTimeout: settings.socketTimeoutMs,
    closeTimeout: Math.max(1, settings.shutdownTimeoutMs),
    maxCommandLength: settings.maxLineLength,
    // Our replies carry their own enhanced status codes (see replies.ts).
    hideENHANCEDSTATUSCODES: true,
    hideDSN: true,
    hideREQUIRETLS: true,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    hideSTARTTLS: !tls,
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    ...(tls ?? {}),

    onConnect(session, callback) {
      const state = sessions.get(session.id);
      const admission = tracker.admit(session.remoteAddress, Date.now());
      if (admission !== 'ok') {
        const [name, reply] = ADMISSION_REFUSALS[admission];
        limit(state, name, { connections: tracker.connections(session.remoteAddress), network: tracker.networkConnections(session.remoteAddress) });
        return callback(smtpError(reply));
      }
      if (state) state.admitted = true;
      else tracker.release(session.remoteAddress);
      callback();
    },

    onClose(session) {
      const state = sessions.get(session.id);
      if (!state) return;
      sessions.delete(session.id);
      if (state.timer) clearTimeout(state.timer);
      state.clock.stop();
      if (state.admitted) tracker.release(state.ip);
    },

    onMailFrom(address, session, callback) {
      const state = sessions.get(session.id);
      if (state) state.commandsBeforeMail = 0;
      callback();
    },

    onRcptTo(address, session, callback) {
      const ip = session.remoteAddress;
      if (tracker.blocked(ip, Date.now())) {
        limit(sessions.get(session.id), 'refused-rcpt-rate', { max: settings.maxRefusedRcptPerIp });
        return callback(refuseRcpt('tooManyRefusals', 'refused-rcpt-rate'));
      }
      const rcpt = address.address;
      if (session.envelope.rcptTo.length >= settings.maxRecipients) return callback(refuseRcpt('tooManyRecipients', 'too-many-recipients'));
      const check = checkAddress(verp, rcpt);
      if (check.ok) return callback();
      remoteLog('RCPT_REFUSED', 'recipient refused', ip, { rcpt, reason: check.reason, remote: ip, session: session.id });
      if (tracker.refuse(ip, Date.now())) limit(sessions.get(session.id), 'refused-rcpt-rate', { max: settings.maxRefusedRcptPerIp });
      callback(refuseRcpt(REFUSAL_TEXT[check.reason], check.reason));
    },

    onData(stream: SMTPServerDataStream, session: SMTPServerSession, answer) {
      const started = Date.now();
      const state = sessions.get(session.id);
      if (state) state.receiving = true;
      // Mail moved: the session's idle clock starts again once the message is answered.
      const callback: typeof answer = (err, message) => {
        if (state) {
          state.receiving = false;
          state.clock.progress();
        }
        answer(err, message);
      };
      const { maxMessageBytes, maxHeaderBytes } = settings;
      const chunks: Buffer[] = [];
      let bytes = 0;
      let held = 0;
      let overBudget = false;
      const release = () => {
        buffered -= held;
        held = 0;
        chunks.length = 0;
      };
      const header = new HeaderScan(maxHeaderBytes);
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        state?.clock.progress();
        header.feed(chunk);
        if (!overBudget && buffered + chunk.length > settings.maxBufferedBytes) {
          overBudget = true;
          release();
        }
        // Past a limit nothing more is kept: the message is refused once the stream ends.
        if (!overBudget && !stream.sizeExceeded && bytes <= maxMessageBytes && !header.tooBig) {
          chunks.push(chunk);
          held += chunk.length;
          buffered += chunk.length;
        } else if (held > 0) {
          release();
        }
      });
      stream.on('error', (err) => {
        release();
        callback(err);
      });
      stream.on('end', () => {
        const base = { session: session.id, remote: session.remoteAddress, from: mailFrom(session), rcpt: rcptTo(session), bytes };
        if (stream.sizeExceeded || bytes > maxMessageBytes) {
          release();
          log.log('warn', 'SMTP_TOO_BIG', 'message over the size limit refused', { ...base, limit: maxMessageBytes });
          answered(replies.tooBig.code, 'refused');
          return callback(smtpError('tooBig', maxMessageBytes));
        }
        if (header.tooBig) {
          release();
          log.log('warn', 'SMTP_TOO_BIG', 'message header over the size limit refused', { ...base, limit: maxHeaderBytes, header: true });
          answered(replies.headerTooBig.code, 'refused');
          return callback(smtpError('headerTooBig', maxHeaderBytes));
        }
        // The parse copies the message several times over (see parseCopyBytes): they count too.
        const copies = parseCopyBytes(bytes);
        if (!overBudget && buffered + copies > settings.maxBufferedBytes) overBudget = true;
        if (overBudget) {
          release();
          limit(state, 'buffered-bytes', { max: settings.maxBufferedBytes });
          answered(replies.noRoom.code, 'deferred');
          return callback(smtpError('noRoom'));
        }
        buffered += copies;
        held += copies;
        const raw = Buffer.concat(chunks, bytes);
        chunks.length = 0;
        const input: IngestInput = {
          raw,
          mailFrom: mailFrom(session),
          rcptTo: rcptTo(session),
          remoteAddress: session.remoteAddress,
          helo: session.hostNameAppearsAs || null,
          transport: 'smtp',
        };
        if (state) state.storing = true;
        const done = (err: Error | null, message?: string) => {
          if (state) state.storing = false;
          release();
          callback(err, message);
        };
        ingest.ingest(input).then(
          (result) => {
            const duplicate = result.outcome === 'duplicate';
            log.log('info', duplicate ? 'SMTP_DUPLICATE' : 'SMTP_ACCEPTED', duplicate ? 'message already stored' : 'message stored', {
              ...base,
              messageId: result.messageId,
              kind: result.kind,
              status: result.status,
              ms: Date.now() - started,
            });
            answered(replies.accepted.code, duplicate ? 'duplicate' : 'accepted');
            done(null, duplicate ? replies.duplicate.text(result.messageId) : replies.accepted.text(result.messageId));
          },
          (err: unknown) => {
            if (!(err instanceof TemporaryFailure)) log.log('error', 'INGEST_FAILED', 'unexpected ingest failure', { ...base, error: errorText(err), errorCode: errorCode(err), stack: stackFrames(err) });
            log.log('warn', 'SMTP_TEMPFAIL', 'message deferred with 451', { ...base, ms: Date.now() - started });
            answered(replies.tempFail.code, 'deferred');
            done(smtpError('tempFail'));
          },
        );
      });
    },
  };

  const server = new HookedSMTPServer(options, hooks, settings.greetingDelayMs);
  server.on('error', (err) => log.log('warn', 'SMTP_ERROR', 'connection error', { error: err.message }));

  /** Closes every session that is not in the middle of a transaction. */
  const closeIdle = () => {
    for (const state of sessions.values()) {
      const inTransaction = !!state.connection.session.envelope?.mailFrom;
      if (inTransaction || state.storing) continue;
      const v = verdict('shuttingDown');
      state.connection.send(v.code, v.text, false);
    }
  };

  return {
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.server.once('error', onError);
        // A burst of connections waits in the kernel's queue instead of being dropped: a dropped
        // SYN costs the client a retransmission after 1, 3, 7... seconds.
        server.listen(settings.port, settings.host, settings.listenBacklog, () => {
          server.server.off('error', onError);
          const address = server.server.address() as AddressInfo;
          log.log('info', 'SMTP_LISTENING', `listening on ${address.address}:${address.port}`, { host: address.address, port: address.port, tls: !!tls });
          resolve(address);
        });
      });
    },

    close() {
      if (closing) return closing;
      const sweep = setInterval(closeIdle, 100);
      sweep.unref();
      closing = new Promise<void>((resolve) => server.close(() => resolve())).finally(() => clearInterval(sweep));
      closeIdle();
      return closing;
    },

    update(next, nextVerp) {
      const nextTls = readTls(next.tls); // throws before anything changes if a file is unreadable
      settings = next;
      verp = nextVerp;
      tracker.update(next);
      server.greetingDelayMs = next.greetingDelayMs;
      Object.assign(server.options, {
        name: next.hostname,
        banner: next.banner,
        size: next.maxMessageBytes,
        maxClients: next.maxClients,
        socketTimeout: next.socketTimeoutMs,
        closeTimeout: Math.max(1, next.shutdownTimeoutMs),
        maxCommandLength: next.maxLineLength,
        hideSTARTTLS: !nextTls,
        disabledCommands: nextTls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      });
      if (nextTls && (nextTls.key.compare(tls?.key ?? Buffer.alloc(0)) !== 0 || nextTls.cert.compare(tls?.cert ?? Buffer.alloc(0)) !== 0)) {
        server.updateSecureContext(nextTls);
      }
      tls = nextTls;
    },

    get sessions() {
      return sessions.size;
    },

    get bufferedBytes() {
      return buffered;
    },
  };
}

function readTls(files: SmtpSettings['tls']): { key: Buffer; cert: Buffer } | null {
  return files ? { key: readFileSync(files.key), cert: readFileSync(files.cert) } : null;
}

/**
 * Finds the end of the top-level header section (the first empty line) in a message that
 * arrives in chunks, and says when the header section grows past its limit.
 */
class HeaderScan {
  private seen = 0;
  private tail = Buffer.alloc(0);
  done = false;
  tooBig = false;

  constructor(private readonly limit: number) {}

  feed(chunk: Buffer): void {
    if (this.done || this.tooBig) return;
    const window = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    const ends = [window.indexOf(HEADER_END_CRLF), window.indexOf(HEADER_END_LF)].filter((i) => i >= 0);
    if (ends.length > 0) {
      const headerBytes = this.seen - this.tail.length + Math.min(...ends);
      this.done = true;
      this.tooBig = headerBytes > this.limit;
      return;
    }
    this.seen += chunk.length;
    this.tail = Buffer.from(window.subarray(Math.max(0, window.length - 3)));
    if (this.seen > this.limit) this.tooBig = true;
  }
}

function mailFrom(session: SMTPServerSession): string | null {
  const from = session.envelope.mailFrom;
  return from ? from.address : null;
}

function rcptTo(session: SMTPServerSession): string[] {
  return session.envelope.rcptTo.map((r) => r.address);
}
