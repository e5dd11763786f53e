import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/**
 * smtp-server has handlers for MAIL, RCPT and DATA but none for the other commands or for the
 * replies it writes itself, and the listener's limits need both (commands before MAIL, bad
 * commands, source routes, which smtp-server strips before onRcptTo). This subclass wraps each
 * connection's command entry point and reply writer as the connection is created, before it
 * reads a byte. It relies on `SMTPConnection#_onCommand`, `#send`, `#_ready`, `#_upgrading` and
 * `#_nextHandler` (smtp-server 3.21, typed in its own declarations); the listener's tests fail
 * if a new version changes them.
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
    super(options);
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

    connection.send = (code, data, context) => {
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
