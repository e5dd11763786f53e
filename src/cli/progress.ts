import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import { interactive } from './context.js';

const require = createRequire(import.meta.url);

/**
 * A progress bar on standard error (cli-progress), drawn only on a terminal: a pipe or a log
 * file gets the final summary alone.
 */
export interface Progress {
  update(value: number, total: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

const none: Progress = { update() {}, stop() {} };

export function progressBar(format: string, options: { unit?: 'bytes' | 'count'; enabled?: boolean } = {}): Progress {
  if (options.enabled === false || !interactive()) return none;
  const bytes = options.unit === 'bytes';
  const cliProgress = require('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 10, formatValue: (v, _o, type) => (bytes && (type === 'value' || type === 'total') ? humanBytes(v) : String(v)) },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(value, total, payload = {}) {
      if (!started) {
        bar.start(Math.max(1, total), value, payload);
        started = true;
      } else {
        bar.setTotal(Math.max(1, total));
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function humanBytes(value: number): string {
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}
