import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

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

  constructor(options: SMTPServerOptions, hooks: ConnectionHooks) {
    super(options);
    this.hooks = hooks;
  }

  override connect(socket: Socket | TLSSocket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    super.connect(socket, socketOptions);
    const id = (socketOptions as { id?: string } | null | undefined)?.id;
    // Set iteration is insertion order: the new connection is the last one, unless init()
    // already refused and removed it (maxClients).
    let created: SMTPConnection | null = null;
    for (const connection of this.connections) if (connection.id === id) created = connection;
    if (created) this.wrap(created);
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
