import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The servers a load run targets, each a child process on 127.0.0.1: `rebond serve` (the built
 * command, bin/rebond.js) and Postfix's smtp-sink (which accepts and discards, the ceiling of
 * what the generator and the machine can do).
 */

export const ROOT = join(import.meta.dirname, '..', '..');
export const SMTP_SINK = '/usr/sbin/smtp-sink';
export const SMTP_SOURCE = '/usr/sbin/smtp-source';

export interface Server {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** Standard error lines seen so far (rebond logs warnings and errors there). */
  readonly lines: string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** A port nothing listens on right now (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once a connection to the port gets a 220 greeting, or rejects after `timeoutMs`. */
export async function waitForGreeting(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode}) before listening`);
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      let text = '';
      socket.setEncoding('latin1');
      socket.setTimeout(2000, () => socket.destroy());
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) {
          socket.end('QUIT\r\n');
          resolve(text.startsWith('220'));
        }
      });
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(false));
    });
    if (greeted) return;
    await sleep(100);
  }
  throw new Error(`nothing greeted on port ${port} within ${timeoutMs} ms`);
}

function track(name: string, child: ChildProcess, port: number): Server {
  const lines: string[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) if (l.trim() && lines.length < 10_000) lines.push(l);
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    pid: child.pid!,
    port,
    lines,
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface RebondOptions {
  readonly databaseUrl: string;
  /** More REBOND_* settings (they win over the bench's). */
  readonly env?: Record<string, string>;
  /** Options for node itself, before the script (`--cpu-prof`, ...). */
  readonly nodeArgs?: readonly string[];
}

/**
 * Starts `rebond serve` on a free port with the HTTP server off and the log at `warn` (no line
 * per message), and resolves once it greets. Tries another port if the first was taken meanwhile.
 */
export async function startRebond(o: RebondOptions): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), join(ROOT, 'bin', 'rebond.js'), 'serve'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'],
        REBOND_SMTP_HOST: '127.0.0.1',
        REBOND_SMTP_PORT: String(port),
        REBOND_HTTP_ENABLED: 'false',
        REBOND_LOG_LEVEL: 'warn',
        REBOND_LOG_FORMAT: 'json',
        REBOND_DATABASE_URL: o.databaseUrl,
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = track('rebond', child, port);
    try {
      await waitForGreeting(port, child);
      return server;
    } catch (err) {
      await server.stop(1000);
      if (attempt >= 3 || !server.lines.some((l) => l.includes('EADDRINUSE'))) throw new Error(`rebond serve did not start: ${(err as Error).message}\n${server.lines.slice(-20).join('\n')}`);
    }
  }
}

/**
 * Starts one stage of the pipeline alone (bench/lib/stage-server.ts: smtp-server, then
 * mailparser, then the decoders; nothing stored), to see what each stage costs.
 */
export async function startStage(stage: string): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'lib', 'stage-server.ts'), stage, String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = track(`stage ${stage}`, child, port);
  try {
    await waitForGreeting(port, child);
  } catch (err) {
    await server.stop(1000);
    throw new Error(`stage ${stage} did not start: ${(err as Error).message}\n${server.lines.join('\n')}`);
  }
  return server;
}

export function sinkAvailable(): boolean {
  return existsSync(SMTP_SINK);
}

/**
 * Starts `smtp-sink 127.0.0.1:PORT 256`: it answers 250 to every message and discards it.
 * Run as root it needs `-u` (an unprivileged user to switch to): `nobody`.
 */
export async function startSink(): Promise<Server> {
  const port = await freePort();
  const args = [...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), '-c', `127.0.0.1:${port}`, '256'];
  const child = spawn(SMTP_SINK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const server = track('smtp-sink', child, port);
  try {
    await waitForGreeting(port, child, 10_000);
  } catch (err) {
    await server.stop(1000);
    throw new Error(`smtp-sink did not start: ${(err as Error).message}\n${server.lines.join('\n')}`);
  }
  return server;
}
