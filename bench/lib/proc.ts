import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Memory and CPU time of another process, from Linux's /proc (null elsewhere). */

export interface Memory {
  /** Resident now (VmRSS), bytes. */
  readonly rss: number;
  /** Peak resident since the process started (VmHWM), bytes. */
  readonly hwm: number;
}

export function memory(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const rss = kb('VmRSS');
    const hwm = kb('VmHWM');
    return Number.isFinite(rss) && Number.isFinite(hwm) ? { rss, hwm } : null;
  } catch {
    return null;
  }
}

let ticks: number | null = null;
function clockTicks(): number {
  if (ticks === null) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, inside parentheses).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return null;
  }
}

/** Samples a process's resident memory every `everyMs` while a run lasts. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private max = 0;
  private count = 0;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 200,
  ) {}

  start(): this {
    const sample = () => {
      const m = memory(this.pid);
      if (!m) return;
      this.count++;
      if (m.rss > this.max) this.max = m.rss;
    };
    sample();
    this.timer = setInterval(sample, this.everyMs);
    this.timer.unref();
    return this;
  }

  /** Stops; the largest resident size sampled and how many samples were taken. */
  stop(): { maxRss: number; samples: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return { maxRss: this.max, samples: this.count };
  }
}

export const MiB = 1024 * 1024;
export function mib(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined || !Number.isFinite(bytes) ? '-' : (bytes / MiB).toFixed(0);
}
