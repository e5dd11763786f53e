import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { checkAddress, type VerpRefusal, type VerpSettings } from '../domain/verp.js';
import type { Logger } from '../logger.js';
import { TemporaryFailure, type IngestInput, type IngestResult } from '../services/ingest.js';
import { smtpError, replies } from './replies.js';

/**
 * The SMTP listener. A remote server may only deliver to a signed VERP address at one of our
 * bounce domains, or to postmaster@ one of them: the receiver is never a relay. A message is
 * answered 250 only after it and its effects are committed; a database fault is a 451.
 */

export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  readonly hostname: string;
  readonly banner: string;
  readonly maxMessageBytes: number;
  readonly maxRecipients: number;
  readonly maxClients: number;
  readonly socketTimeoutMs: number;
  readonly tls?: { readonly key: string; readonly cert: string } | undefined;
}

export interface Ingest {
  ingest(input: IngestInput): Promise<IngestResult>;
}

export interface SmtpListener {
  readonly server: SMTPServer;
  listen(): Promise<AddressInfo>;
  /** Stops accepting connections and waits for open sessions to end (bounded by smtp-server). */
  close(): Promise<void>;
}

const REFUSAL_TEXT: Record<VerpRefusal, keyof typeof replies> = {
  syntax: 'badSyntax',
  'foreign-domain': 'relayDenied',
  'not-verp': 'unknownRecipient',
  'malformed-token': 'unknownRecipient',
  'bad-signature': 'unknownRecipient',
};

export function createSmtpListener(settings: SmtpSettings, verp: VerpSettings, ingest: Ingest, logger: Logger): SmtpListener {
  const log = logger.child('smtp');
  const tls = settings.tls ? { key: readFileSync(settings.tls.key), cert: readFileSync(settings.tls.cert) } : null;

  const options: SMTPServerOptions = {
    name: settings.hostname,
    banner: settings.banner,
    size: settings.maxMessageBytes,
    maxClients: settings.maxClients,
    socketTimeout: settings.socketTimeoutMs,
    closeTimeout: 30_000,
    // Our replies carry their own enhanced status codes (see replies.ts).
    hideENHANCEDSTATUSCODES: true,
    hideDSN: true,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    hideSTARTTLS: !tls,
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    ...(tls ?? {}),

    onMailFrom(address, session, callback) {
      callback();
    },

    onRcptTo(address, session, callback) {
      const rcpt = address.address;
      if (session.envelope.rcptTo.length >= settings.maxRecipients) return callback(smtpError('tooManyRecipients'));
      const check = checkAddress(verp, rcpt);
      if (check.ok) return callback();
      log.log('info', 'RCPT_REFUSED', 'recipient refused', { rcpt, reason: check.reason, remote: session.remoteAddress, session: session.id });
      callback(smtpError(REFUSAL_TEXT[check.reason]));
    },

    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const started = Date.now();
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // Past the limit nothing more is kept: the message is refused once the stream ends.
        if (!stream.sizeExceeded && bytes <= settings.maxMessageBytes) chunks.push(chunk);
      });
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        const base = { session: session.id, remote: session.remoteAddress, from: mailFrom(session), rcpt: rcptTo(session), bytes };
        if (stream.sizeExceeded || bytes > settings.maxMessageBytes) {
          log.log('warn', 'SMTP_TOO_BIG', 'message over the size limit refused', { ...base, limit: settings.maxMessageBytes });
          return callback(smtpError('tooBig', settings.maxMessageBytes));
        }
        const input: IngestInput = {
          raw: Buffer.concat(chunks, bytes),
          mailFrom: mailFrom(session),
          rcptTo: rcptTo(session),
          remoteAddress: session.remoteAddress,
          helo: session.hostNameAppearsAs ?? null,
          transport: 'smtp',
        };
        ingest.ingest(input).then(
          (result) => {
            const duplicate = result.outcome === 'duplicate';
            log.log('info', duplicate ? 'SMTP_DUPLICATE' : 'SMTP_ACCEPTED', duplicate ? 'message already stored' : 'message stored', {
              ...base,
              message: result.messageId,
              kind: result.kind,
              status: result.status,
              ms: Date.now() - started,
            });
            callback(null, duplicate ? replies.duplicate.text(result.messageId) : replies.accepted.text(result.messageId));
          },
          (err: unknown) => {
            if (!(err instanceof TemporaryFailure)) log.log('error', 'INGEST_FAILED', 'unexpected ingest failure', { ...base, error: (err as Error)?.stack ?? String(err) });
            log.log('warn', 'SMTP_TEMPFAIL', 'message deferred with 451', { ...base, ms: Date.now() - started });
            callback(smtpError('tempFail'));
          },
        );
      });
    },
  };

  const server = new SMTPServer(options);
  server.on('error', (err) => log.log('warn', 'SMTP_ERROR', 'connection error', { error: err.message }));

  return {
    server,
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.server.once('error', onError);
        server.listen(settings.port, settings.host, () => {
          server.server.off('error', onError);
          const address = server.server.address() as AddressInfo;
          log.log('info', 'SMTP_LISTENING', `listening on ${address.address}:${address.port}`, { host: address.address, port: address.port, tls: !!tls });
          resolve(address);
        });
      });
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function mailFrom(session: SMTPServerSession): string | null {
  const from = session.envelope.mailFrom;
  return from ? from.address : null;
}

function rcptTo(session: SMTPServerSession): string[] {
  return session.envelope.rcptTo.map((r) => r.address);
}
