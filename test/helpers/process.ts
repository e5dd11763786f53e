import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Runs the built `rebond` command (bin/rebond.js) as a child process. */

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'rebond.js');

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, input?: string): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env['PATH'], ...env }, input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Receiver {
  readonly child: ChildProcess;
  readonly port: number;
  /** Log lines (parsed JSON) seen so far. */
  readonly logs: Array<Record<string, unknown>>;
  exited(): Promise<number | null>;
  /** Resolves with the first log line (already seen or to come) with this code that matches. */
  waitForLog(code: string, match?: (entry: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Log lines with this code seen so far. */
  count(code: string): number;
}

/** Starts `rebond serve` and resolves once it listens (port read from its SMTP_LISTENING log). */
export function startReceiver(env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<Receiver> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd: ROOT,
    // The HTTP server is off unless the test turns it on (REBOND_HTTP_ENABLED=true, with a token).
    env: { PATH: process.env['PATH'], REBOND_SMTP_PORT: '0', REBOND_HTTP_ENABLED: 'false', REBOND_HTTP_PORT: '0', REBOND_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const lines = new EventEmitter();
  lines.setMaxListeners(0);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForLog: Receiver['waitForLog'] = (code, match = () => true, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const found = logs.find((l) => l['code'] === code && match(l));
      if (found) return resolve(found);
      const timer = setTimeout(() => {
        lines.off('line', onLine);
        reject(new Error(`no ${code} log line in ${timeoutMs} ms; last lines:\n${logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      const onLine = (entry: Record<string, unknown>) => {
        if (entry['code'] !== code || !match(entry)) return;
        clearTimeout(timer);
        lines.off('line', onLine);
        resolve(entry);
      };
      lines.on('line', onLine);
    });
  const count = (code: string) => logs.filter((l) => l['code'] === code).length;
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`receiver did not start: ${buffer}`));
    }, 20_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          lines.emit('line', entry);
          if (entry['code'] === 'SMTP_LISTENING') {
            clearTimeout(timer);
            resolve({ child, port: Number(entry['port']), logs, exited: () => exit, waitForLog, count });
          }
        } catch {
          logs.push({ text: line });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`receiver exited with ${code}: ${buffer}${logs.map((l) => JSON.stringify(l)).join('\n')}`));
    });
  });
}

export function buildIsFresh(): boolean {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0;
}

/** Peak resident memory of a running process in bytes (Linux VmHWM), or null elsewhere. */
export function peakRss(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
