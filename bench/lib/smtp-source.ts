import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SMTP_SOURCE } from './servers.js';

/**
 * Postfix's smtp-source as the load generator: `-s concurrency -m count` sessions of one message
 * each, the same message (`-F`) to the same recipient (`-t`) every time, from `<>`. It reports
 * no latency and stops at the first reply that is not the expected one.
 */

export interface SourceResult {
  readonly messages: number;
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly output: string;
}

export async function runSmtpSource(o: { port: number; concurrency: number; count: number; message: Buffer; rcpt: string }): Promise<SourceResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rebond-bench-source-'));
  // -F takes plain lines: it adds the CRLF and the dot-stuffing itself.
  const file = join(dir, 'message.txt');
  const wire = o.message.toString('latin1').replace(/\r\n\.\r\n$/, '\r\n');
  writeFileSync(file, wire.replace(/\r\n\.\./g, '\r\n.').replace(/\r\n/g, '\n'), 'latin1');
  try {
    const args = ['-s', String(o.concurrency), '-m', String(o.count), '-F', file, '-f', '', '-t', o.rcpt, '-M', 'load.bench.example', `127.0.0.1:${o.port}`];
    const start = performance.now();
    const child = spawn(SMTP_SOURCE, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { messages: o.count, seconds: (performance.now() - start) / 1000, exitCode, output: output.trim().slice(0, 2000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
