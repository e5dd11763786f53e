import { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/**
 * smtp-server has handlers for MAIL, RCPT and DATA but none for the other commands or for the
 * replies it writes itself, and the listener's limits need both (commands before MAIL, bad
 * commands, source routes, which smtp-server strips before onRcptTo). This subclass wraps each
 * connection's command entry point and reply writer as the connection is created, before it
 * reads a byte. It relies on `SMTPConnection#_onCommand`, `#send`, `#_ready`, `#_upgrading`,
 * `#_nextHandler`, `#_createParser`, `#_parser`, `#_closing` and `#_closed` (smtp-server 3.21,
 * typed in its own declarations); the listener's tests fail if a new version changes them.
 *
 * Half-closed connections: a client may close its sending side right after its last command
 * (Exim sends the final dot and QUIT in one packet, then shuts down its side). The listening
 * socket allows half-open connections, so Node does not close ours when the client's closes;
 * each command received before the close is answered, and the connection is closed once the
 * parser has handled them all (`closeWhenDone`). smtp-server writes only to a socket whose
 * `readyState` is 'open', and a half-closed one is 'writeOnly' (`owedReplies`). smtp-server's
 * deadline after `close()` (5 s) and its idle timeout still bound such a connection.
 */

export type Connection = SMTPConnection;

export interface Verdict {
  readonly code: number;
  readonly text: string;
}

export interface ConnectionHooks {
  /** A connection was accepted; it has read nothing yet. */
  opened(connection: Connection): void;
  /**
   * A command line smtp-server is about to handle in an established session. A verdict is
   * written instead of handling it (a 421 verdict also closes the connection).
   */
  command(connection: Connection, line: string): Verdict | null;
  /** A reply is about to be written; a verdict is written in its place. */
  reply(connection: Connection, code: number, text: string): Verdict | null;
}

export class HookedSMTPServer extends SMTPServer {
  private readonly hooks: ConnectionHooks;

  /** Milliseconds before the greeting (see `connect`); a reload may change it. */
  greetingDelayMs: number;

  constructor(options: SMTPServerOptions, hooks: ConnectionHooks, greetingDelayMs = 0) {
    super({ ...options, allowHalfOpen: true });
    this.hooks = hooks;
    this.greetingDelayMs = greetingDelayMs;
  }

  /**
   * As smtp-server's own `connect` and `SMTPConnection#init`, except for the pause before the
   * greeting: smtp-server always waits 100 ms (to catch clients that talk before it), which
   * caps a receiver at 10 new sessions per second per concurrent client and makes every remote
   * MTA wait. Here the pause is `smtp.greetingDelayMs` (0 by default: greet at once; a client
   * that talks first is still refused, as the greeting has not been written yet).
   */
  override connect(socket: Socket | TLSSocket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    const connection = new SMTPConnection(this, socket, socketOptions);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data: Parameters<SMTPServer['_onClientConnect']>[0]) => this._onClientConnect(data));
    this.wrap(connection);
    connection._setListeners(() => {
      const { maxClients } = this.options;
      if (maxClients && this.connections.size > maxClients) {
        connection.send(421, `${connection.name} Too many connected clients, try again in a moment`, false);
        return;
      }
      if (this.greetingDelayMs > 0) setTimeout(() => connection.connectionReady(), this.greetingDelayMs).unref();
      else connection.connectionReady();
    });
  }

  private wrap(connection: SMTPConnection): void {
    const hooks = this.hooks;
    const onCommand = connection._onCommand.bind(connection);
    const send = connection.send.bind(connection);
    const createParser = connection._createParser.bind(connection);

    // The first parser exists already; STARTTLS makes a new one for the TLS session.
    if (connection._parser) closeWhenDone(connection, connection._parser);
    connection._createParser = () => {
      const parser = createParser();
      closeWhenDone(connection, parser);
      return parser;
    };

    connection.send = (code, data, context) => {
      owedReplies(connection._socket);
      const text = Array.isArray(data) ? data.join('\n') : (data ?? '');
      const verdict = hooks.reply(connection, code, text);
      if (verdict) send(verdict.code, verdict.text, false);
      else send(code, data, context);
    };

    connection._onCommand = (command, callback) => {
      const live = connection._ready && !connection._upgrading && !connection._nextHandler && !this._closeTimeout;
      const verdict = live ? hooks.command(connection, command.toString('latin1')) : null;
      if (!verdict) return onCommand(command, callback);
      send(verdict.code, verdict.text, false);
      // As smtp-server does after a refused command: read the next one once this reply is out.
      if (verdict.code !== 421 && callback) setImmediate(callback);
    };

    hooks.opened(connection);
  }
}

/**
 * The socket pipes into the parser, which ends when the client has half-closed and finishes
 * once every command received before (and the message in hand) has been handled and answered.
 * Nothing more can come then: the connection is closed, unless a command (QUIT, a 421) closed
 * it already or STARTTLS replaced this parser. A message cut short by the half-close is dropped
 * by smtp-server once the socket closes.
 */
function closeWhenDone(connection: SMTPConnection, parser: Exclude<SMTPConnection['_parser'], false>): void {
  parser.once('finish', () => {
    if (connection._parser !== parser || connection._closing || connection._closed) return;
    connection.close();
  });
}

const socketReadyState = Object.getOwnPropertyDescriptor(Socket.prototype, 'readyState')!.get!;
const answerable = new WeakSet<Socket>();

/**
 * smtp-server writes a reply only while the socket's readyState is 'open'; a socket whose client
 * has half-closed is 'writeOnly' and still carries the replies it owes. Set once per socket
 * (the plain one, then the TLS one after STARTTLS).
 */
function owedReplies(socket: Socket): void {
  if (answerable.has(socket)) return;
  answerable.add(socket);
  Object.defineProperty(socket, 'readyState', {
    configurable: true,
    get(this: Socket) {
      const state = socketReadyState.call(this) as string;
      return state === 'writeOnly' ? 'open' : state;
    },
  });
}
