import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

/** What a result was measured on: benchmarks on a shared machine need their context. */

export interface Machine {
  readonly date: string;
  readonly node: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryMiB: number;
  /** 1, 5 and 15 minute load averages. */
  readonly loadAverage: readonly number[];
  /** `uptime`'s line, as printed. */
  readonly uptime: string;
}

export function machine(): Machine {
  let uptime = '';
  try {
    uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    uptime = `load average: ${loadavg().map((n) => n.toFixed(2)).join(', ')}`;
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
    uptime,
  };
}

export function loadLine(): string {
  return `load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}`;
}
