import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A load generator that behaves like Postfix's smtp-source: `concurrency` sessions at once, a
 * new TCP connection per message (connect, EHLO, MAIL FROM:<>, RCPT TO, DATA, the message,
 * QUIT), no pipelining. Everything sent is prepared beforehand (`Prepared`), so the generator
 * does no per-message work beyond writing buffers and reading reply codes.
 *
 * It records, per message, the outcome (the final reply code after the message, or the step
 * and code that stopped the transaction, or a network error) and the acknowledgement latency:
 * from the moment the message and its terminating `.` were handed to the socket to the final
 * reply.
 */

export interface Prepared {
  /** `RCPT TO:<...>\r\n` lines. */
  readonly rcpt: readonly Buffer[];
  /** The message, CRLF, dot-stuffed, ending with `\r\n.\r\n`. */
  readonly data: Buffer;
}

export interface LoadOptions {
  readonly port: number;
  readonly host?: string;
  readonly concurrency: number;
  /** Idle time before a session is abandoned (recorded as `timeout`). */
  readonly timeoutMs?: number;
  readonly helo?: string;
  /** Called with each message's reply after its data (index in `messages`, the whole reply). */
  readonly onReply?: (index: number, reply: string) => void;
  /** Checked before each new message: true stops the run (sessions under way finish). */
  readonly stop?: () => boolean;
}

export interface LoadResult {
  /** Messages tried (all of them unless `stop` ended the run early). */
  readonly messages: number;
  readonly seconds: number;
  /** Outcome -> messages: `250`, `451`, `RCPT 550`, `CONNECT 421`, `error ECONNREFUSED`, `timeout`... */
  readonly codes: Record<string, number>;
  /** Acknowledgement latencies (ms) of the messages that reached the end of DATA, sorted. */
  readonly latencies: Float64Array;
  /** For the same messages, from connect() to the 354 that invites the message, sorted. */
  readonly handshakes: Float64Array;
  /** For the same messages, from connect() to the reply to QUIT (or the connection's end), sorted. */
  readonly sessions: Float64Array;
  /** CPU time of this process during the run (the generator's own cost). */
  readonly generatorCpuSeconds: number;
  /** A few replies that were not 250 (to show what went wrong). */
  readonly samples: string[];
}

const MAIL = Buffer.from('MAIL FROM:<>\r\n');
const DATA = Buffer.from('DATA\r\n');
const QUIT = Buffer.from('QUIT\r\n');

/** The first complete reply in `buffer` (multi-line replies joined), or null. */
export function takeReply(buffer: string): { reply: string; rest: string } | null {
  let pos = 0;
  for (;;) {
    const nl = buffer.indexOf('\n', pos);
    if (nl < 0) return null;
    // `ddd-text` continues a reply; `ddd text` or `ddd` ends it.
    if (buffer.charCodeAt(pos + 3) !== 45) return { reply: buffer.slice(0, nl + 1).trimEnd(), rest: buffer.slice(nl + 1) };
    pos = nl + 1;
  }
}

class Session {
  private buffer = '';
  private waiter: ((reply: string) => void) | null = null;
  private failure: string | null = null;

  constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.deliver();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(`error ${err.code ?? err.message}`));
    socket.on('close', () => this.fail('closed'));
    socket.on('timeout', () => {
      this.fail('timeout');
      socket.destroy();
    });
  }

  /** Resolves with the next reply, or with `!` and the failure (error, closed, timeout). */
  next(): Promise<string> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.deliver();
    });
  }

  send(bytes: Buffer): Promise<string> {
    this.socket.write(bytes);
    return this.next();
  }

  private deliver(): void {
    if (!this.waiter) return;
    const taken = takeReply(this.buffer);
    if (taken) {
      this.buffer = taken.rest;
      const w = this.waiter;
      this.waiter = null;
      w(taken.reply);
    } else if (this.failure) {
      const w = this.waiter;
      this.waiter = null;
      w(`!${this.failure}`);
    }
  }

  private fail(why: string): void {
    this.failure ??= why;
    this.deliver();
  }
}

function open(host: string, port: number, timeoutMs: number): Session {
  const socket = connect({ host, port });
  socket.setTimeout(timeoutMs);
  return new Session(socket);
}

/** Sends every message once and returns what happened. */
export async function runLoad(messages: readonly Prepared[], o: LoadOptions): Promise<LoadResult> {
  const host = o.host ?? '127.0.0.1';
  const timeoutMs = o.timeoutMs ?? 60_000;
  const ehlo = Buffer.from(`EHLO ${o.helo ?? 'load.bench.example'}\r\n`);
  const codes: Record<string, number> = {};
  const latencies = new Float64Array(messages.length);
  const handshakes = new Float64Array(messages.length);
  const sessions = new Float64Array(messages.length);
  let measured = 0;
  const samples: string[] = [];
  const count = (key: string, reply: string) => {
    codes[key] = (codes[key] ?? 0) + 1;
    if (key !== '250' && samples.length < 10) samples.push(reply);
  };

  // One message: the outcome key, recorded once.
  const one = async (m: Prepared, index: number): Promise<void> => {
    const opened = performance.now();
    const s = open(host, o.port, timeoutMs);
    const step = (name: string, reply: string, expect: string): boolean => {
      if (reply.startsWith(expect)) return true;
      count(reply.startsWith('!') ? reply.slice(1) : `${name} ${reply.slice(0, 3)}`, reply);
      return false;
    };
    try {
      if (!step('CONNECT', await s.next(), '220')) return;
      if (!step('EHLO', await s.send(ehlo), '250')) return;
      if (!step('MAIL', await s.send(MAIL), '250')) return;
      for (const r of m.rcpt) if (!step('RCPT', await s.send(r), '250')) return;
      if (!step('DATA', await s.send(DATA), '354')) return;
      const invited = performance.now();
      s.socket.write(m.data);
      const sent = performance.now();
      const reply = await s.next();
      if (reply.startsWith('!')) return void count(reply.slice(1), reply);
      o.onReply?.(index, reply);
      const n = measured++;
      latencies[n] = performance.now() - sent;
      handshakes[n] = invited - opened;
      count(reply.slice(0, 3), reply);
      await s.send(QUIT);
      sessions[n] = performance.now() - opened;
    } finally {
      s.socket.destroy();
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < messages.length && !o.stop?.()) {
      const index = next++;
      await one(messages[index]!, index);
    }
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, messages.length)) }, worker));
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    messages: next,
    seconds,
    codes,
    latencies: latencies.slice(0, measured).sort(),
    handshakes: handshakes.slice(0, measured).sort(),
    sessions: sessions.slice(0, measured).sort(),
    generatorCpuSeconds: (used.user + used.system) / 1e6, samples };
}

/** The value at quantile q (0..1) of sorted values, or 0 when there is none. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Messages answered 250 per second of the whole run. */
export function acceptedRate(r: LoadResult): number {
  return (r.codes['250'] ?? 0) / r.seconds;
}
