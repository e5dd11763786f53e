import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

/**
 * SMTP clients for tests, over real sockets on 127.0.0.1: `sendMail` with nodemailer's SMTP
 * connection, and `Dialog` for exact command/reply exchanges.
 */

export interface SendResult {
  readonly accepted: string[];
  readonly rejected: string[];
  readonly response: string;
}

export interface SmtpFailure extends Error {
  responseCode?: number;
  response?: string;
  code?: string;
}

export async function sendMail(port: number, envelope: { from: string; to: string[] }, raw: Buffer | string): Promise<SendResult> {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 15000 });
  conn.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    return await new Promise<SendResult>((resolve, reject) => {
      conn.send(envelope, typeof raw === 'string' ? Buffer.from(raw) : raw, (err, info) => {
        if (err) reject(err);
        else resolve({ accepted: info.accepted.map(String), rejected: info.rejected.map(String), response: info.response });
      });
    });
  } finally {
    conn.quit();
    conn.close();
  }
}

/** A line-level SMTP client: send a command, get the whole (multi-line) reply. */
export class Dialog {
  private buffer = '';
  private waiting: Array<(reply: string) => void> = [];
  private closed = false;
  private socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.flush();
    });
    socket.on('close', () => {
      this.closed = true;
      this.flush();
    });
    socket.on('error', () => {});
  }

  /**
   * Sends STARTTLS and, on 220, continues the dialog over TLS. Resolves with the STARTTLS
   * reply and the TLS socket (for its peer certificate), or rejects if the handshake fails.
   */
  async starttls(options: ConnectionOptions = {}): Promise<{ reply: string; socket: TLSSocket }> {
    const reply = await this.command('STARTTLS');
    if (!reply.startsWith('220')) throw new Error(`STARTTLS refused: ${reply}`);
    return { reply, socket: await this.upgrade(options) };
  }

  /** Starts TLS on the connection now (after a 220 to a STARTTLS sent by other means). */
  async upgrade(options: ConnectionOptions = {}): Promise<TLSSocket> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ ...options, socket: plain });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return secure;
  }

  /** Connects (from `localAddress`, another loopback address to stand for another client) and reads the greeting. */
  static async open(port: number, options: { localAddress?: string } = {}): Promise<{ dialog: Dialog; greeting: string }> {
    const socket = connect({ host: '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const dialog = new Dialog(socket);
    const greeting = await dialog.reply();
    return { dialog, greeting };
  }

  /** Resolves with the next complete reply ('' if the server closed the connection). */
  reply(timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no SMTP reply in time')), timeoutMs);
      this.waiting.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.flush();
    });
  }

  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  write(data: string | Buffer): void {
    if (!this.closed) this.socket.write(data);
  }

  /** Sends a message after DATA's 354, with dot-stuffing, and returns the final reply. */
  async data(raw: string | Buffer): Promise<string> {
    const start = await this.command('DATA');
    if (!start.startsWith('354')) return start;
    const text = typeof raw === 'string' ? raw : raw.toString('latin1');
    const body = text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    this.write(Buffer.from(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1'));
    return this.reply(30_000);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves once the server has closed the connection (rejects after `timeoutMs`). */
  whenClosed(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private flush(): void {
    while (this.waiting.length > 0) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.buffer);
      if (!m) {
        if (this.closed) this.waiting.shift()!('');
        else return;
        continue;
      }
      this.buffer = this.buffer.slice(m[0].length);
      this.waiting.shift()!(m[0].trimEnd());
    }
  }
}

/** Delivers several messages in one SMTP session (as an MTA with a queue does); returns the DATA replies. */
export async function sendMany(port: number, items: ReadonlyArray<{ from: string; to: string[]; raw: string | Buffer }>): Promise<string[]> {
  const { dialog } = await Dialog.open(port);
  const replies: string[] = [];
  try {
    await dialog.command('EHLO client.test.example');
    for (const item of items) {
      const mail = await dialog.command(`MAIL FROM:<${item.from}>`);
      if (!mail.startsWith('250')) {
        replies.push(mail);
        continue;
      }
      let accepted = 0;
      for (const to of item.to) if ((await dialog.command(`RCPT TO:<${to}>`)).startsWith('250')) accepted++;
      if (accepted === 0) {
        replies.push('no recipient accepted');
        await dialog.command('RSET');
        continue;
      }
      replies.push(await dialog.data(item.raw));
    }
    await dialog.command('QUIT');
  } finally {
    dialog.close();
  }
  return replies;
}
