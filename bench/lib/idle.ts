import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { memory, type Memory } from './proc.js';

/**
 * Idle sessions: `count` connections that are greeted, say EHLO, get their 250 and then send
 * nothing, as remote servers holding a cached connection do. Resolves with how many reached
 * that state, and the server's memory 2 seconds after they are all open and then every second
 * until `holdMs`: V8 gives back the heap a load made it grow only after some idle time (its
 * memory reducer), so the figure at once and the one a while later differ.
 */

export interface IdleResult {
  readonly asked: number;
  /** Sessions whose EHLO was answered 250 (and still open at the end of the hold). */
  readonly open: number;
  /** 2 seconds after all were open. */
  readonly memory: Memory | null;
  /** At the end of the hold. */
  readonly settled: Memory | null;
  readonly holdMs: number;
  /** Resident bytes sampled every second from the first figure on. */
  readonly rssSamples: number[];
}

function idleSession(port: number, timeoutMs: number): Promise<{ socket: Socket; ok: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    let stage: 'greeting' | 'ehlo' | 'done' = 'greeting';
    const done = (ok: boolean) => {
      if (stage === 'done') return;
      stage = 'done';
      clearTimeout(timer);
      resolve({ socket, ok });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      // The last line of a reply is `ddd text`; a multi-line one continues with `ddd-`.
      if (!/(^|\n)\d{3}( [^\n]*)?\r?\n$/.test(text)) return;
      if (stage === 'greeting') {
        if (!text.startsWith('220')) return done(false);
        stage = 'ehlo';
        text = '';
        socket.write('EHLO idle.bench.example\r\n');
      } else if (stage === 'ehlo') done(text.startsWith('250'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

export async function idleConnections(pid: number, port: number, count: number, holdMs = 2000): Promise<IdleResult> {
  const first = Math.min(2000, holdMs);
  const sessions: Array<{ socket: Socket; ok: boolean }> = [];
  try {
    // Opened 20 at a time, as they would arrive from many servers.
    for (let i = 0; i < count; i += 20) sessions.push(...(await Promise.all(Array.from({ length: Math.min(20, count - i) }, () => idleSession(port, 10_000)))));
    await sleep(first);
    const at = memory(pid);
    const rssSamples = [at?.rss ?? NaN];
    for (let t = first; t < holdMs; t += 1000) {
      await sleep(Math.min(1000, holdMs - t));
      rssSamples.push(memory(pid)?.rss ?? NaN);
    }
    const settled = memory(pid);
    return { asked: count, open: sessions.filter((s) => s.ok && !s.socket.destroyed).length, memory: at, settled, holdMs, rssSamples };
  } finally {
    for (const s of sessions) s.socket.destroy();
  }
}
